/*
** cap_pos.c -- capture's source position (the text form is described in
** cap_pos.h): a sorted set of installations, and its encoder and decoder.
**
** INVARIANTS: decode(encode(p)) == p; anything else is rejected whole.
** Entries are kept sorted by id (binary search: a pass touches every
** installation, and sources with thousands of tables exist). Text keeps
** `sluice-inspect stat` readable.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap_pos.h"

void cap_pos_free(cap_pos *p)
{
    free(p->v);
    memset(p, 0, sizeof(*p));
    p->schema_version = -1;
}

/* Index of id, or of where it would go. */
static int lower_bound(const cap_pos *p, int64_t id)
{
    int lo = 0, hi = p->n;

    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (p->v[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

cap_posent *cap_pos_find(cap_pos *p, int64_t id)
{
    int i = lower_bound(p, id);
    return i < p->n && p->v[i].id == id ? &p->v[i] : NULL;
}

cap_posent *cap_pos_get(cap_pos *p, int64_t id)
{
    int i = lower_bound(p, id);

    if (i < p->n && p->v[i].id == id)
        return &p->v[i];
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 16;
        cap_posent *v = realloc(p->v, (size_t)cap * sizeof(*v));
        if (v == NULL)
            return NULL;
        p->v = v;
        p->cap = cap;
    }
    memmove(&p->v[i + 1], &p->v[i], (size_t)(p->n - i) * sizeof(*p->v));
    p->n++;
    memset(&p->v[i], 0, sizeof(p->v[i]));
    p->v[i].id = id;
    return &p->v[i];
}

void cap_pos_remove(cap_pos *p, int64_t id)
{
    int i = lower_bound(p, id);

    if (i < p->n && p->v[i].id == id) {
        memmove(&p->v[i], &p->v[i + 1],
                (size_t)(p->n - i - 1) * sizeof(*p->v));
        p->n--;
    }
}

int cap_pos_copy(cap_pos *dst, const cap_pos *src)
{
    cap_pos_free(dst);
    dst->schema_version = src->schema_version;
    if (src->n == 0)
        return 0;
    dst->v = malloc((size_t)src->n * sizeof(*dst->v));
    if (dst->v == NULL)
        return -1;
    memcpy(dst->v, src->v, (size_t)src->n * sizeof(*dst->v));
    dst->n = dst->cap = src->n;
    return 0;
}

int cap_pos_encode(const cap_pos *p, char **out, size_t *len)
{
    /* "sluice-pos 1" + " sv=" and 20 digits; per entry 2 x 20 digits, two
    ** colons, a space and two flags: 48 is ample */
    size_t cap = 48 + (size_t)p->n * 48, n;
    char *s = malloc(cap);

    *out = NULL;
    if (s == NULL)
        return -1;
    n = (size_t)snprintf(s, cap, "sluice-pos 1");
    if (p->schema_version >= 0)
        n += (size_t)snprintf(s + n, cap - n, " sv=%lld",
                              (long long)p->schema_version);
    for (int i = 0; i < p->n; i++)
        n += (size_t)snprintf(s + n, cap - n, " %lld:%lld:%s%s",
                              (long long)p->v[i].id,
                              (long long)p->v[i].log_id,
                              p->v[i].snapshotted ? "s" : "",
                              p->v[i].drop_done ? "d" : "");
    *out = s;
    *len = n;
    return 0;
}

int cap_pos_decode(cap_pos *p, const char *s, size_t len, jr_err *err)
{
    char *buf = malloc(len + 1), *tok, *save = NULL;

    cap_pos_free(p);
    if (buf == NULL)
        return jr_err_set(err, JR_ERR, 0, JR_D_NONE, 0, "malloc",
                          "out of memory");
    memcpy(buf, s, len);
    buf[len] = 0;
    if (strncmp(buf, "sluice-pos 1", 12) != 0 ||
        (buf[12] != 0 && buf[12] != ' '))
        goto bad;
    for (tok = strtok_r(buf + 12, " ", &save); tok != NULL;
         tok = strtok_r(NULL, " ", &save)) {
        long long id, log_id;
        char flags[4] = "";
        int used = 0;
        cap_posent *e;

        if (strncmp(tok, "sv=", 3) == 0) {
            char *end;
            long long v = strtoll(tok + 3, &end, 10);
            if (*end != 0 || end == tok + 3 || v < 0)
                goto bad;
            p->schema_version = v;
            continue;
        }
        if (sscanf(tok, "%lld:%lld:%n", &id, &log_id, &used) != 2 ||
            used == 0 || strlen(tok + used) > 2 || id <= 0 || log_id < 0)
            goto bad;
        memcpy(flags, tok + used, strlen(tok + used));
        if (strspn(flags, "sd") != strlen(flags) ||
            (e = cap_pos_get(p, id)) == NULL)
            goto bad;
        e->log_id = log_id;
        e->snapshotted = strchr(flags, 's') != NULL;
        e->drop_done = strchr(flags, 'd') != NULL;
    }
    free(buf);
    return JR_OK;
bad:
    free(buf);
    cap_pos_free(p);
    return jr_err_set(err, JR_ERR, 0, JR_D_NONE, 0, "source position",
                      "the journal's source position is not a capture "
                      "position (\"%.*s\"): was this journal written by "
                      "another tool?", (int)(len > 60 ? 60 : len), s);
}
