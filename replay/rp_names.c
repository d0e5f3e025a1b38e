/*
** rp_names.c -- which source tables replay applies, under which target
** name (the names MariaDB cannot take: tg_name.c).
**
**   --tables A,B          apply only these source tables
**   --exclude-tables C    never these
**   --map SRC=DST,...     source table SRC lands in target table DST
** Source names are matched as SQLite matches them (ASCII letters in any
** case). A table left out has all its records skipped -- rows, schema
** changes, snapshots, drops -- while the groups around them still apply;
** this is the way out when a table cannot be replayed (a name MariaDB
** refuses, a table the target must not have) without a new journal.
**
** MariaDB's identifier rules (counted in characters, not bytes): at most
** 64 characters, no trailing space, characters of the Basic Multilingual
** Plane only (no emoji), valid UTF-8; and replay's own sqlite_sluice_
** namespace is not for mapping into.
**
** INVARIANT: a target name returned here passed tg_name_check and is not
** in replay's namespace.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rp.h"
#include "sl_utf8.h"

typedef struct pair {
    char *src, *dst;
} pair;

struct rp_names {
    char **only;
    int nonly;
    char **excl;
    int nexcl;
    pair *map;
    int nmap;
};

static void strv_free(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void rp__names_free(rp_names *n)
{
    if (n == NULL)
        return;
    strv_free(n->only, n->nonly);
    strv_free(n->excl, n->nexcl);
    for (int i = 0; i < n->nmap; i++) {
        free(n->map[i].src);
        free(n->map[i].dst);
    }
    free(n->map);
    free(n);
}

/* Split a comma list; "" items are a usage error. */
static int split(const char *list, const char *opt, char ***out, int *n,
                 char *err, size_t cap)
{
    const char *p = list;

    *out = NULL;
    *n = 0;
    if (list == NULL)
        return 0;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char **v;
        if (len == 0) {
            snprintf(err, cap, "%s has an empty name (\"%s\")", opt, list);
            return -1;
        }
        v = realloc(*out, (size_t)(*n + 1) * sizeof(char *));
        if (v == NULL || (v[*n] = strndup(p, len)) == NULL) {
            if (v != NULL)
                *out = v;
            snprintf(err, cap, "out of memory");
            return -1;
        }
        *out = v;
        (*n)++;
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

static int has(char **v, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(v[i], name) == 0)
            return 1;
    return 0;
}

rp_names *rp__names_new(const char *tables, const char *exclude,
                        const char *map, char *err, size_t cap)
{
    rp_names *n = calloc(1, sizeof(*n));
    char **items = NULL, why[200];
    int nitems = 0;

    if (n == NULL) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    if (split(tables, "--tables", &n->only, &n->nonly, err, cap) != 0 ||
        split(exclude, "--exclude-tables", &n->excl, &n->nexcl, err,
              cap) != 0 ||
        split(map, "--map", &items, &nitems, err, cap) != 0)
        goto fail;
    if (nitems > 0 && (n->map = calloc((size_t)nitems, sizeof(pair))) ==
                          NULL) {
        snprintf(err, cap, "out of memory");
        goto fail;
    }
    for (int i = 0; i < nitems; i++) {
        char *eq = strchr(items[i], '=');
        if (eq == NULL || eq == items[i] || eq[1] == 0) {
            snprintf(err, cap, "--map takes SRC=DST pairs (\"%s\")",
                     items[i]);
            goto fail;
        }
        *eq = 0;
        if (tg_name_check(eq + 1, why, sizeof(why)) != 0) {
            snprintf(err, cap, "--map %s=%s: MariaDB cannot take that name: "
                     "%s", items[i], eq + 1, why);
            goto fail;
        }
        if (tg_name_reserved(eq + 1)) {
            snprintf(err, cap, "--map %s=%s: names starting with "
                     "sqlite_sluice are replay's own", items[i], eq + 1);
            goto fail;
        }
        for (int k = 0; k < n->nmap; k++) {
            if (strcasecmp(n->map[k].src, items[i]) == 0) {
                snprintf(err, cap, "--map names source table %s twice",
                         items[i]);
                goto fail;
            }
            if (strcmp(n->map[k].dst, eq + 1) == 0) {
                snprintf(err, cap, "--map sends %s and %s to one target "
                         "table %s", n->map[k].src, items[i], eq + 1);
                goto fail;
            }
        }
        n->map[n->nmap].src = strdup(items[i]);
        n->map[n->nmap].dst = strdup(eq + 1);
        n->nmap++;
        if (n->map[n->nmap - 1].src == NULL ||
            n->map[n->nmap - 1].dst == NULL) {
            snprintf(err, cap, "out of memory");
            goto fail;
        }
    }
    strv_free(items, nitems);
    return n;
fail:
    strv_free(items, nitems);
    rp__names_free(n);
    return NULL;
}

const char *rp__names_target(const rp_names *n, const char *src)
{
    if (n == NULL)
        return src;
    if (n->nonly > 0 && !has(n->only, n->nonly, src))
        return NULL;
    if (has(n->excl, n->nexcl, src))
        return NULL;
    for (int i = 0; i < n->nmap; i++)
        if (strcasecmp(n->map[i].src, src) == 0)
            return n->map[i].dst;
    return src;
}

const char *rp__names_clash(const rp_names *n, const char *src)
{
    const char *dst = rp__names_target(n, src);

    for (int i = 0; n != NULL && dst != NULL && i < n->nmap; i++)
        if (strcmp(n->map[i].dst, dst) == 0 &&
            strcasecmp(n->map[i].src, src) != 0)
            return n->map[i].src;
    return NULL;
}
