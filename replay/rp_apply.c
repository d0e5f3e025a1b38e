/*
** rp_apply.c -- applying journal records inside the group's transaction.
**
** Rows are buffered into multi-row statements per (table, operation) and
** flushed when the table, the operation or the column list changes, or
** the batch is full (rows, or bytes against max_allowed_packet); order
** within a table is preserved. How a row change becomes SQL depends on the
** table's PLAN, decided once per table:
**   UPSERT   INSERT ... ON DUPLICATE KEY UPDATE (the target has a unique
**            index on the key; the source declared no other UNIQUE set)
**   REPLACE  REPLACE INTO: the source has UNIQUE sets and the target has
**            the same unique indexes, so MariaDB's REPLACE removes a row
**            that conflicts on one of them exactly as SQLite's REPLACE
**            did (capture logs no delete for that row when the
**            application runs without recursive_triggers)
**   PERROW   like REPLACE, for a target lacking some of those unique
**            indexes or comparing them loosely (a *_ci or PAD SPACE
**            collation): per row, delete rows holding the same bytes in a
**            source UNIQUE set under another key, then upsert
**   OLDIMG   source keyed by rowid, target has no such column: match
**            rows by their old image (UPDATE/DELETE ... LIMIT 1), values
**            converted as the target column stores them; an image that
**            matches no row is an error, never a silent skip
** A key change (UPDATE whose new key differs from its old key) is a
** delete of the old key followed by an upsert of the new row. Every
** operation is idempotent (except OLDIMG inserts), so replaying a group
** twice converges to the same state.
**
** Distinct source keys never become one row silently: upserts carry the
** merge guard (rp_stmt.c), checked by the group's position write (it
** only moves when no upsert merged, rp_meta.c) and, in single-row mode,
** after each row, where it names both keys. Rows are given the columns
** the target table adds to keep source keys apart (rp_aug.c): storage
** classes in created tables, the source key (sqlite_sluice_key, compared
** by the guard and by deletes) and source UNIQUE values
** (sqlite_sluice_key_N, compared by PERROW's conflict delete) in a user's
** table whose types could merge them.
**
** INVARIANTS:
**  (A1) nothing here commits: the caller commits the group together with
**       its position row (rp__position_set), or rolls it all back.
**  (A2) in `single` mode every row is its own statement, so a failing
**       value is pinned to one seq; with --on-error=skip the row goes to
**       sqlite_sluice_rejects (same transaction) and the group continues.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rp.h"
#include "sl_json.h"
#include "sl_log.h"

enum { PLAN_UPSERT, PLAN_REPLACE, PLAN_PERROW, PLAN_OLDIMG };

typedef struct plan {
    char *table;                 /* target name */
    int mode;
    char **uniq;                 /* source unique sets: "a,b" lowercased */
    int nuniq;
    int loose_key;               /* the target compares the key loosely:
                                    keys distinct as bytes may collide, so
                                    deletes and upserts never commute */
    struct plan *next;
} plan;

struct rp_apply {
    MYSQL *db;
    tg_tables *ts;
    jr_journal *j;
    const rp_cfg *cfg;
    rp_rounds *rounds;
    size_t limit;                /* largest statement to send */
    int flags;                   /* TG_POL_* for every value */
    char uuid[40];
    const char *src;             /* source name of the record applied */
    plan *plans;
    int single;                  /* one row per statement */
    rp_stmt put, del;            /* open statements (see add_row) */
    tg_str keybuf;               /* scratch: a row's key literals */
    rp_aug ak, an;               /* scratch: key and new row + added
                                    columns (rp_aug.c) */
    uint64_t rejected;
};

static void plans_free(plan *p)
{
    while (p) {
        plan *n = p->next;
        for (int i = 0; i < p->nuniq; i++)
            free(p->uniq[i]);
        free(p->uniq);
        free(p->table);
        free(p);
        p = n;
    }
}

static void stmt_reset(rp_apply *a)
{
    rp__stmt_reset(&a->put);
    rp__stmt_reset(&a->del);
}

rp_apply *rp__apply_new(MYSQL *db, tg_tables *ts, jr_journal *j,
                        const rp_cfg *cfg, const char *journal_uuid,
                        rp_rounds *rounds, unsigned long max_packet)
{
    rp_apply *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    a->db = db;
    a->ts = ts;
    a->j = j;
    a->cfg = cfg;
    a->rounds = rounds;
    a->flags = cfg->strict_values ? TG_POL_STRICT : 0;
    /* room for the statement around the rows, and the protocol; a server
    ** that would not say is taken to have MariaDB's default (16 MiB) */
    if (max_packet == 0)
        max_packet = 16UL * 1024 * 1024;
    a->limit = max_packet - (max_packet / 4 < 16 * 1024 ? max_packet / 4
                                                        : 16 * 1024);
    snprintf(a->uuid, sizeof(a->uuid), "%s", journal_uuid);
    return a;
}

int rp__apply_flags(const rp_apply *a)
{
    return a->flags;
}

rp_rounds *rp__apply_rounds(rp_apply *a)
{
    return a->rounds;
}

size_t rp__apply_limit(const rp_apply *a)
{
    return a->limit;
}

void rp__apply_free(rp_apply *a)
{
    if (a == NULL)
        return;
    rp__stmt_free(&a->put);
    rp__stmt_free(&a->del);
    tg_str_free(&a->keybuf);
    plans_free(a->plans);
    rp__aug_free(&a->ak);
    rp__aug_free(&a->an);
    free(a);
}

void rp__apply_reset(rp_apply *a)
{
    stmt_reset(a);
    plans_free(a->plans);
    a->plans = NULL;
    a->rejected = 0;
}

void rp__apply_set_single(rp_apply *a, int single)
{
    a->single = single;
}

uint64_t rp__apply_rejected(const rp_apply *a)
{
    return a->rejected;
}

void rp__apply_forget(rp_apply *a, const char *table)
{
    for (plan **pp = &a->plans; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->table, table) == 0) {
            plan *p = *pp;
            *pp = p->next;
            p->next = NULL;
            plans_free(p);
            break;
        }
    tg_table_forget(a->ts, table);
}

/* ---- plans ---- */

/* "a,b" lowercased (tg_set_text) from a JSON array of names */
static char *set_of(const sl_json *arr)
{
    const char **names = calloc(arr ? sl_json_len(arr) + 1 : 1,
                                sizeof(char *));
    tg_str s = { 0 };
    int n = 0;

    for (const sl_json *k = arr ? arr->child : NULL; names && k; k = k->next)
        if (k->type == SL_JSTR)
            names[n++] = k->str;
    tg_set_text(&s, names, n);
    free(names);
    return s.p ? s.p : strdup("");
}

static int has_set(const tg_table *t, const char *set)
{
    for (int i = 0; i < t->nuniq; i++)
        if (strcmp(t->uniq_sql[i], set) == 0)
            return 1;
    return 0;
}

/* Is a column of set "a,b" compared loosely by the target? */
static int loose_set(const tg_table *t, const char *set)
{
    char *cols = strdup(set), *save = NULL;
    int loose = 0;

    for (char *c = cols ? strtok_r(cols, ",", &save) : NULL; c;
         c = strtok_r(NULL, ",", &save)) {
        int k = tg_table_col(t, c);
        if (k >= 0 && t->cols[k].loose)
            loose = 1;
    }
    free(cols);
    return loose;
}

/* Warn once per process and table about a user table whose key or
** unique columns compare text loosely: two source keys such as 'Bob'
** and 'bob' are one value there (replay refuses the second, it never
** merges them). */
static void warn_loose(const tg_table *t, const char *keyset,
                       const plan *p)
{
    static char **seen;
    static int nseen;
    const char *why = NULL, *col = NULL;
    char **ns;

    for (int i = 0; i < nseen; i++)
        if (strcmp(seen[i], t->name) == 0)
            return;
    for (int i = 0; i < t->ncols && why == NULL; i++) {
        const tg_col *c = &t->cols[i];
        char one[300];
        int keyish = 0;
        if (!c->loose)
            continue;
        snprintf(one, sizeof(one), ",%s,", c->name);
        for (char *q = one; *q; q++)
            if (*q >= 'A' && *q <= 'Z')
                *q = (char)(*q + 32);
        {
            char ks[600];
            snprintf(ks, sizeof(ks), ",%s,", keyset);
            keyish = strstr(ks, one) != NULL;
            for (int u = 0; !keyish && u < p->nuniq; u++) {
                snprintf(ks, sizeof(ks), ",%s,", p->uniq[u]);
                keyish = strstr(ks, one) != NULL;
            }
            for (int u = 0; !keyish && u < t->nuniq; u++) {
                snprintf(ks, sizeof(ks), ",%s,", t->uniq_sql[u]);
                keyish = strstr(ks, one) != NULL;   /* the user's own */
            }
        }
        if (keyish) {
            col = c->name;
            why = c->collation;
        }
    }
    if (why == NULL)
        return;
    ns = realloc(seen, (size_t)(nseen + 1) * sizeof(char *));
    if (ns == NULL)
        return;
    seen = ns;
    if ((seen[nseen] = strdup(t->name)) != NULL)
        nseen++;
    SL_LOG(SL_WARN, "replay.loose_key_collation", "table=%s column=%s "
           "collation=%s hint=\"this key column compares text ignoring "
           "case or trailing spaces; source keys that differ only so are "
           "one value here: replay refuses the second (or records it with "
           "--on-error=skip) -- give the column a *_nopad_bin collation to "
           "keep them apart\"", t->name, col, why);
}

/* Schema of source table `src` from the journal (NULL if none). */
static sl_json *source_schema(rp_apply *a, const char *src)
{
    size_t len = 0;
    char *buf;
    sl_json *js = NULL;

    if (jr_journal_table_schema(a->j, src, NULL, 0, &len, NULL) != JR_OK)
        return NULL;
    if ((buf = malloc(len + 1)) == NULL)
        return NULL;
    if (jr_journal_table_schema(a->j, src, buf, len, &len, NULL) == JR_OK)
        js = sl_json_parse(buf, len, NULL, 0);
    free(buf);
    return js;
}

static plan *get_plan(rp_apply *a, const char *table, const jr_row *key,
                      tg_table *t, jr_err *e)
{
    plan *p;
    char *keyset;
    sl_json *js;
    tg_str ks = { 0 };

    for (p = a->plans; p; p = p->next)
        if (strcmp(p->table, table) == 0)
            return p;
    if ((p = calloc(1, sizeof(*p))) == NULL ||
        (p->table = strdup(table)) == NULL) {
        free(p);
        tg_fail(e, TG_E_FATAL, 0, "out of memory");
        return NULL;
    }
    /* the source's unique sets, from the journal's latest schema */
    js = source_schema(a, a->src ? a->src : table);
    if (js != NULL && sl_json_get(js, "unique") != NULL)
        for (const sl_json *c = sl_json_get(js, "unique")->child; c;
             c = c->next) {
            char **nu = realloc(p->uniq, (size_t)(p->nuniq + 1) *
                                             sizeof(char *));
            if (nu == NULL)
                break;
            p->uniq = nu;
            p->uniq[p->nuniq++] = set_of(c);
        }
    sl_json_free(js);
    /* is the key a unique index of the target? (the ledger, last, is
    ** not part of it) */
    tg_set_text(&ks, key->names,
                key->n > 0 && !strcmp(key->names[key->n - 1], TG_LEDGER_COL)
                    ? (int)key->n - 1 : (int)key->n);
    keyset = ks.p ? ks.p : strdup("");
    if (!has_set(t, keyset)) {
        int keyless = key->n == 1 && tg_table_col(t, key->names[0]) < 0 &&
                      (!strcmp(key->names[0], "rowid") ||
                       !strcmp(key->names[0], "oid") ||
                       !strcmp(key->names[0], "_rowid_"));
        if (!keyless) {
            tg_fail(e, TG_E_CONFIG, 0, "target table %s has no primary key "
                    "or unique index on (%s), the source's key: add one so "
                    "changes can be applied idempotently", table, keyset);
            free(keyset);
            plans_free(p);
            return NULL;
        }
        p->mode = PLAN_OLDIMG;
    } else if (p->nuniq == 0) {
        p->mode = PLAN_UPSERT;
    } else {
        p->mode = PLAN_REPLACE;
        for (int i = 0; i < p->nuniq; i++)
            if (!has_set(t, p->uniq[i]) || loose_set(t, p->uniq[i]))
                p->mode = PLAN_PERROW;
        if (loose_set(t, keyset) || t->ledger_col >= 0 ||
            t->nuledger > 0)
            p->mode = PLAN_PERROW;     /* REPLACE would merge silently */
    }
    p->loose_key = loose_set(t, keyset);
    if (t->user_created)
        warn_loose(t, keyset, p);
    free(keyset);
    p->next = a->plans;
    a->plans = p;
    return p;
}

/* ---- statements ---- */

static int run(rp_apply *a, const char *sql, size_t len, jr_err *e)
{
    if (a->limit > 0 && len > a->limit)
        return tg_fail(e, TG_E_DATA, 1153, "a statement of %zu bytes is "
                       "over the server's max_allowed_packet (%zu bytes "
                       "with room): raise max_allowed_packet on the server",
                       len, a->limit);
    if (mysql_real_query(a->db, sql, (unsigned long)len) != 0)
        return tg_fail_mysql(e, a->db, "applying changes");
    return 0;
}

/* Flush both open statements: deletes first (their keys are disjoint
** from the upserts' whenever both are open, see add_row). */
int rp__apply_flush(rp_apply *a, jr_err *e)
{
    if (rp__stmt_flush(&a->del, a->db, e) != 0) {
        rp__stmt_reset(&a->put);
        return -1;
    }
    return rp__stmt_flush(&a->put, a->db, e);
}

/* Literal of value i of row r for target table t into s (a WHERE clause:
** the value as the column stores it, no rounding counted). */
static int add_value(rp_apply *a, tg_str *s, tg_table *t, const jr_row *r,
                     uint32_t i, const jr_entry *ent, int flags, jr_err *e)
{
    char why[300];
    int c = tg_table_col(t, r->names[i]);

    if (c < 0)
        return tg_fail(e, TG_E_CONFIG, 0, "target table %s has no column "
                       "%s (seq %llu)", t->name, r->names[i],
                       (unsigned long long)ent->seq);
    if (tg_value_sql(s, a->db, &t->cols[c], &r->vals[i], flags, NULL, why,
                     sizeof(why)) != 0)
        return rp__bad_value(ent, r->names[i], &r->vals[i], why, e);
    return 0;
}

/* `col1 <=> v1 AND col2 <=> v2` for row r: values as the target column
** stores them (a DATETIME keeps whole seconds: so does the value matched),
** text compared byte for byte whatever the collation. */
static int where_row(rp_apply *a, tg_str *s, tg_table *t, const jr_row *r,
                     const jr_entry *ent, jr_err *e)
{
    int first = 1;

    for (uint32_t i = 0; i < r->n; i++) {
        int c = tg_table_col(t, r->names[i]);
        int bytes = c >= 0 && (t->cols[c].kind == TG_T_TEXT ||
                               t->cols[c].kind == TG_T_JSON);
        if (c >= 0 && t->cols[c].generated)
            continue;
        if (!first)
            tg_str_adds(s, " AND ");
        first = 0;
        if (bytes)
            tg_str_adds(s, "BINARY ");
        tg_str_ident(s, r->names[i]);
        tg_str_adds(s, " <=> ");
        if (bytes)
            tg_str_adds(s, "BINARY ");
        if (add_value(a, s, t, r, i, ent, a->flags, e) != 0)
            return -1;
    }
    return 0;
}

/* The literal text of a row's key (its values of the key columns named
** by `key`), for the statements' key sets. NULL if a column is missing. */
static const char *key_string(rp_apply *a, tg_table *t, const jr_row *r,
                              const jr_row *key)
{
    char why[300];

    a->keybuf.len = 0;
    for (uint32_t k = 0; k < key->n; k++) {
        uint32_t i;
        int c = tg_table_col(t, key->names[k]);
        if (strcmp(key->names[k], TG_LEDGER_COL) == 0)
            continue;       /* the target's key: two source keys that are
                               one target key never commute */
        for (i = 0; i < r->n; i++)
            if (strcmp(r->names[i], key->names[k]) == 0)
                break;
        if (i == r->n || c < 0)
            return NULL;
        tg_str_add(&a->keybuf, "\x1f", 1);
        if (tg_value_sql(&a->keybuf, a->db, &t->cols[c], &r->vals[i],
                         a->flags | TG_POL_KEY, NULL, why,
                         sizeof(why)) != 0)
            return NULL;
    }
    return a->keybuf.oom ? NULL : a->keybuf.p;
}

/* Upserts that landed on another source key's row so far (the merge
** guard's count, rp_stmt.c); reset to 0 when not. 0 or -1. */
static int merges(rp_apply *a, long long *n, jr_err *e)
{
    MYSQL_RES *res;
    MYSQL_ROW row;

    *n = 0;
    if (mysql_query(a->db, "SELECT @sluice_merge") != 0 ||
        (res = mysql_store_result(a->db)) == NULL)
        return tg_fail_mysql(e, a->db, "checking for merged keys");
    if ((row = mysql_fetch_row(res)) != NULL && row[0] != NULL)
        *n = strtoll(row[0], NULL, 10);
    mysql_free_result(res);
    if (*n != 0)
        mysql_query(a->db, "SET @sluice_merge = 0");
    return 0;
}

/* After a single-row upsert: did it land on another source key's row?
** Names both keys; the row is undone (savepoint), so skip mode can
** record it and go on. */
static int single_merge_check(rp_apply *a, tg_table *t, const jr_row *r,
                              const jr_row *key, const jr_entry *ent,
                              jr_err *e)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    tg_str s = { 0 };
    char mine[300], other[400] = "";
    long long merged = 0;

    if (merges(a, &merged, e) != 0)
        return -1;
    if (merged == 0)
        return 0;
    /* the row it landed on: found by the target's own comparison */
    tg_str_adds(&s, "SELECT ");
    for (uint32_t k = 0; k < key->n; k++) {
        tg_str_adds(&s, k ? ", " : "");
        tg_str_ident(&s, key->names[k]);   /* the ledger too, if any */
    }
    tg_str_adds(&s, " FROM ");
    tg_str_ident(&s, t->name);
    tg_str_adds(&s, " WHERE ");
    for (uint32_t k = 0, n = 0; k < key->n; k++) {
        uint32_t i;
        for (i = 0; i < r->n; i++)
            if (strcmp(r->names[i], key->names[k]) == 0)
                break;
        if (i == r->n || strcmp(key->names[k], TG_LEDGER_COL) == 0)
            continue;
        tg_str_adds(&s, n++ ? " AND " : "");
        tg_str_ident(&s, key->names[k]);
        tg_str_adds(&s, " = ");
        if (add_value(a, &s, t, r, i, ent, a->flags, e) != 0)
            break;
    }
    tg_str_adds(&s, " LIMIT 1");
    if (e->cls == TG_E_NONE && !s.oom &&
        mysql_real_query(a->db, s.p, (unsigned long)s.len) == 0 &&
        (res = mysql_store_result(a->db)) != NULL) {
        if ((row = mysql_fetch_row(res)) != NULL) {
            unsigned long *len = mysql_fetch_lengths(res);
            size_t o = 0;
            for (uint32_t k = 0; k < key->n && o + 8 < sizeof(other); k++) {
                jr_value v;
                char shown[120];
                if (strcmp(key->names[k], TG_LEDGER_COL) == 0) {
                    /* the source key that wrote the row, said instead */
                    if (row[k] != NULL) {
                        jr_row names = *key;
                        names.n = k;
                        rp__ledger_show(other, sizeof(other), &names,
                                        row[k], len[k]);
                    }
                    break;
                }
                v.type = row[k] != NULL ? JR_TEXT : JR_NULL;
                v.u.b.p = row[k] != NULL ? row[k] : "";
                v.u.b.n = row[k] != NULL ? len[k] : 0;
                tg_value_show(shown, sizeof(shown), &v);
                o += (size_t)snprintf(other + o, sizeof(other) - o,
                                      "%s%s=%s", k ? ", " : "",
                                      key->names[k], shown);
            }
        }
        mysql_free_result(res);
    }
    tg_str_free(&s);
    if (e->cls != TG_E_NONE)
        return -1;
    /* an error here (a Galera brute-force abort ended the transaction)
    ** must end the group: the next statement would start a new one */
    if (mysql_query(a->db, "ROLLBACK TO SAVEPOINT sluice_row") != 0)
        return tg_fail_mysql(e, a->db, "ROLLBACK TO SAVEPOINT");
    {
        jr_row own = *key;               /* without the ledger's bytes */
        if (t->ledger_col >= 0 && own.n > 0 &&
            strcmp(own.names[own.n - 1], TG_LEDGER_COL) == 0)
            own.n--;
        rp__key_text(mine, sizeof(mine), &own);
    }
    if (other[0])
        return tg_fail(e, TG_E_DATA, 0, "seq %llu table %s key (%s) lands on "
                       "the row of another source key (%s): the target "
                       "compares the two as one value (a case-insensitive "
                       "or PAD SPACE collation, or a type that normalises "
                       "them) and sluice never merges distinct source keys",
                       (unsigned long long)ent->seq, ent->rec.table, mine,
                       other);
    return tg_fail(e, TG_E_DATA, 0, "seq %llu table %s key (%s) lands on the "
                   "row of another source key through a unique index of "
                   "the target (one the source does not have, or one whose "
                   "column type makes distinct source values one value); "
                   "sluice never merges distinct source keys",
                   (unsigned long long)ent->seq, ent->rec.table, mine);
}

/* Add one row change. With `commute` (the key is the table's only unique
** key) an upsert and a delete statement stay open side by side while
** their keys are disjoint: changes to different rows commute, so a stream
** mixing updates and deletes still travels in full batches. A row whose
** key the other statement holds flushes that statement first; otherwise
** (and always without `commute`) the other statement is flushed before
** the row joins its own, which keeps the changes in order. */
static int add_row(rp_apply *a, int op, tg_table *t, const jr_row *r,
                   const jr_row *key, int replace, int commute,
                   const jr_entry *ent, jr_err *e)
{
    rp_stmt *me = op == RP_OP_PUT ? &a->put : &a->del;
    rp_stmt *other = op == RP_OP_PUT ? &a->del : &a->put;
    const char *ks = NULL;
    int rc;

    if (commute && !a->single)
        ks = key_string(a, t, r, key);
    if (other->op != RP_OP_NONE &&
        (ks == NULL || strcmp(other->table, t->name) != 0 ||
         rp__stmt_has_key(other, ks))) {
        if (rp__stmt_flush(other, a->db, e) != 0)
            return -1;
    }
    if (me->op != RP_OP_NONE && !rp__stmt_fits(me, op, t->name, r, replace)) {
        if (rp__stmt_flush(me, a->db, e) != 0)
            return -1;
    }
    for (int tries = 0; tries < 2; tries++) {
        if (me->op == RP_OP_NONE &&
            rp__stmt_begin(me, op, t, r, key, replace, ent, a->single) != 0)
            return tg_fail(e, TG_E_FATAL, 0, "out of memory");
        rc = rp__stmt_add(me, a->db, t, r, ent, ks, a->flags, a->rounds,
                          a->limit, e);
        if (rc != RP_STMT_FULL)
            break;
        if (rp__stmt_flush(me, a->db, e) != 0)      /* full: send, again */
            return -1;
    }
    if (rc != 0)
        return -1;
    if (a->single && op == RP_OP_PUT && me->guard) {
        if (mysql_query(a->db, "SAVEPOINT sluice_row") != 0)
            return tg_fail_mysql(e, a->db, "SAVEPOINT");
        if (rp__stmt_flush(me, a->db, e) != 0)
            return -1;
        return single_merge_check(a, t, r, key, ent, e);
    }
    if (a->single || me->nrows >= (uint64_t)a->cfg->batch_rows) {
        return rp__stmt_flush(me, a->db, e);
    }
    return 0;
}

/* PERROW: delete rows that hold r's values of a source UNIQUE set under
** another key (text compared by bytes). */
static int delete_conflicts(rp_apply *a, plan *p, tg_table *t,
                            const jr_row *r, const jr_row *key,
                            const jr_entry *ent, jr_err *e)
{
    for (int u = 0; u < p->nuniq; u++) {
        tg_str s = { 0 };
        char *cols = strdup(p->uniq[u]), *save = NULL;
        int ret = 0;

        tg_str_adds(&s, "DELETE FROM ");
        tg_str_ident(&s, t->name);
        tg_str_adds(&s, " WHERE ");
        for (char *c = cols ? strtok_r(cols, ",", &save) : NULL;
             c && ret == 0; c = strtok_r(NULL, ",", &save)) {
            for (uint32_t i = 0; i < r->n; i++)
                if (strcasecmp(r->names[i], c) == 0) {
                    int k = tg_table_col(t, r->names[i]);
                    int bin = k >= 0 && t->cols[k].loose;
                    if (bin)
                        tg_str_adds(&s, "BINARY ");
                    tg_str_ident(&s, r->names[i]);
                    tg_str_adds(&s, bin ? " = BINARY " : " = ");
                    ret = add_value(a, &s, t, r, i, ent, a->flags, e);
                    tg_str_adds(&s, " AND ");
                }
        }
        {
            /* only rows holding the same source values (sqlite_sluice_key_N
            ** written by rp_aug.c): SQLite replaced nothing else */
            int lc = tg_table_uledger(t, p->uniq[u]);
            const char *col = lc >= 0 ? t->cols[lc].name : NULL;
            for (uint32_t i = 0; col != NULL && i < r->n; i++)
                if (ret == 0 && strcmp(r->names[i], col) == 0) {
                    tg_str_adds(&s, "(");
                    tg_str_ident(&s, col);
                    tg_str_adds(&s, " IS NULL OR ");
                    tg_str_ident(&s, col);
                    tg_str_adds(&s, " = ");
                    ret = add_value(a, &s, t, r, i, ent, a->flags, e);
                    tg_str_adds(&s, ") AND ");
                }
        }
        tg_str_adds(&s, "NOT (");
        for (uint32_t i = 0, n = 0; ret == 0 && i < key->n; i++) {
            int k = tg_table_col(t, key->names[i]);
            int bin = k >= 0 && t->cols[k].loose;
            if (strcmp(key->names[i], TG_LEDGER_COL) == 0)
                continue;    /* another source key on this row: the merge
                                guard refuses it, never deleted here */
            if (n++)
                tg_str_adds(&s, " AND ");
            if (bin)
                tg_str_adds(&s, "BINARY ");
            tg_str_ident(&s, key->names[i]);
            tg_str_adds(&s, bin ? " <=> BINARY " : " <=> ");
            ret = add_value(a, &s, t, key, i, ent, a->flags, e);
        }
        tg_str_adds(&s, ")");
        if (ret == 0)
            ret = s.oom ? tg_fail(e, TG_E_FATAL, 0, "out of memory")
                        : run(a, s.p, s.len, e);
        free(cols);
        tg_str_free(&s);
        if (ret != 0)
            return -1;
    }
    return 0;
}

/* The new row's key (its values of the key columns) differs from key? */
static int key_changed(const jr_row *key, const jr_row *nw)
{
    for (uint32_t k = 0; k < key->n; k++)
        for (uint32_t i = 0; i < nw->n; i++) {
            const jr_value *a = &key->vals[k], *b = &nw->vals[i];
            if (strcmp(key->names[k], nw->names[i]) != 0)
                continue;
            if (a->type != b->type)
                return 1;
            if (a->type == JR_INT && a->u.i != b->u.i)
                return 1;
            if (a->type == JR_REAL && memcmp(&a->u.r, &b->u.r, 8) != 0)
                return 1;
            if ((a->type == JR_TEXT || a->type == JR_BLOB) &&
                (a->u.b.n != b->u.b.n ||
                 (a->u.b.n && memcmp(a->u.b.p, b->u.b.p, a->u.b.n))))
                return 1;
        }
    return 0;
}

/* Value i of the new image into s, its rounding counted. */
static int new_value(rp_apply *a, tg_str *s, tg_table *t, const jr_row *nw,
                     uint32_t i, const jr_entry *ent, jr_err *e)
{
    int altered = 0, c = tg_table_col(t, nw->names[i]);
    char why[300];

    if (c < 0)
        return add_value(a, s, t, nw, i, ent, a->flags, e);
    if (tg_value_sql(s, a->db, &t->cols[c], &nw->vals[i], a->flags,
                     &altered, why, sizeof(why)) != 0)
        return rp__bad_value(ent, nw->names[i], &nw->vals[i], why, e);
    if (altered)
        rp__rounds_note(a->rounds, t->name, nw->names[i], ent->seq,
                        &nw->vals[i]);
    return 0;
}

static int apply_oldimg(rp_apply *a, tg_table *t, const jr_entry *ent,
                        jr_err *e)
{
    const jr_record *r = &ent->rec;
    jr_row nw = r->new_row;
    tg_str s = { 0 };
    int ret = 0;

    if (rp__apply_flush(a, e) != 0)
        return -1;
    /* the rowid column is not in the target: leave it out of images */
    if (nw.n > 0 && tg_table_col(t, nw.names[nw.n - 1]) < 0)
        nw.n--;
    if (r->kind == JR_K_INSERT) {
        tg_str_adds(&s, "INSERT INTO ");
        tg_str_ident(&s, t->name);
        tg_str_adds(&s, " (");
        for (uint32_t i = 0; i < nw.n; i++) {
            if (i)
                tg_str_adds(&s, ", ");
            tg_str_ident(&s, nw.names[i]);
        }
        tg_str_adds(&s, ") VALUES (");
        for (uint32_t i = 0; ret == 0 && i < nw.n; i++) {
            if (i)
                tg_str_adds(&s, ", ");
            ret = new_value(a, &s, t, &nw, i, ent, e);
        }
        tg_str_adds(&s, ")");
    } else {
        tg_str_adds(&s, r->kind == JR_K_DELETE ? "DELETE FROM " : "UPDATE ");
        tg_str_ident(&s, t->name);
        if (r->kind == JR_K_UPDATE) {
            tg_str_adds(&s, " SET ");
            for (uint32_t i = 0; ret == 0 && i < nw.n; i++) {
                if (i)
                    tg_str_adds(&s, ", ");
                tg_str_ident(&s, nw.names[i]);
                tg_str_adds(&s, " = ");
                ret = new_value(a, &s, t, &nw, i, ent, e);
            }
        }
        tg_str_adds(&s, " WHERE ");
        if (ret == 0)
            ret = where_row(a, &s, t, &r->old_row, ent, e);
        tg_str_adds(&s, " LIMIT 1");
    }
    if (ret == 0)
        ret = s.oom ? tg_fail(e, TG_E_FATAL, 0, "out of memory")
                    : run(a, s.p, s.len, e);
    tg_str_free(&s);
    if (ret == 0 && r->kind != JR_K_INSERT &&
        mysql_affected_rows(a->db) == 0) {
        /* never skipped silently: the target lost the row, or it was
        ** changed behind sluice's back */
        char kt[200];
        rp__key_text(kt, sizeof(kt), &r->key);
        return tg_fail(e, TG_E_DATA, 0, "seq %llu table %s (no key; source "
                       "%s): the %s matches no row of the target by its old "
                       "row image -- the row is missing or was changed "
                       "outside sluice", (unsigned long long)ent->seq,
                       t->name, kt, r->kind == JR_K_DELETE ? "delete"
                                                           : "update");
    }
    return ret;
}

static int delete_all(rp_apply *a, const char *table, jr_err *e)
{
    tg_str s = { 0 };
    int ret;

    if (rp__apply_flush(a, e) != 0)
        return -1;
    tg_str_adds(&s, "DELETE FROM ");
    tg_str_ident(&s, table);
    ret = run(a, s.p, s.len, e);
    tg_str_free(&s);
    return ret;
}

static int apply_row(rp_apply *a, const jr_entry *ent, jr_err *e)
{
    const jr_record *r = &ent->rec;
    tg_table *t = tg_table_get(a->ts, a->db, r->table, e);
    jr_row key = r->key, nw = r->new_row;
    plan *p;
    int replace, commute;

    if (t == NULL)
        return e->cls ? -1 : tg_fail(e, TG_E_CONFIG, 0, "target table %s "
                                     "does not exist (seq %llu); its schema "
                                     "record is missing from the journal",
                                     r->table, (unsigned long long)ent->seq);
    if (rp__augment(&a->ak, t, &r->key, &r->key, &r->key, 0, &key) != 0 ||
        (nw.n > 0 && rp__augment(&a->an, t, &r->new_row, &r->new_row,
                                 &r->key, 1, &nw) != 0))
        return tg_fail(e, TG_E_FATAL, 0, "out of memory");
    if ((p = get_plan(a, r->table, &key, t, e)) == NULL)
        return -1;
    if (p->mode == PLAN_OLDIMG)
        return apply_oldimg(a, t, ent, e);
    replace = p->mode == PLAN_REPLACE;
    commute = p->mode == PLAN_UPSERT && !p->loose_key;
    if (r->kind == JR_K_DELETE ||
        (r->kind == JR_K_UPDATE && key_changed(&key, &nw)))
        if (add_row(a, RP_OP_DEL, t, &key, &key, 0, commute, ent, e) != 0)
            return -1;
    if (r->kind == JR_K_DELETE)
        return 0;
    if (p->mode == PLAN_PERROW) {
        jr_row nk = key;
        jr_value kv[16];
        /* the new key: the new row's values of the key columns */
        if (key.n <= 16) {
            for (uint32_t k = 0; k < key.n; k++)
                for (uint32_t i = 0; i < nw.n; i++)
                    if (!strcmp(key.names[k], nw.names[i]))
                        kv[k] = nw.vals[i];
            nk.vals = kv;
        }
        if (rp__apply_flush(a, e) != 0 ||
            delete_conflicts(a, p, t, &nw, &nk, ent, e) != 0)
            return -1;
    }
    return add_row(a, RP_OP_PUT, t, &nw, &key, replace, commute, ent, e);
}

int rp__apply_check(rp_apply *a, const jr_entry *ent, const char *target,
                    jr_err *e)
{
    tg_table *t = tg_table_get(a->ts, a->db, target, e);
    jr_row key = ent->rec.key;

    a->src = ent->rec.table;
    if (t == NULL)
        return e->cls ? -1 : tg_fail(e, TG_E_CONFIG, 0, "target table %s "
                                     "does not exist (seq %llu)", target,
                                     (unsigned long long)ent->seq);
    if (rp__augment(&a->ak, t, &ent->rec.key, &ent->rec.key, &ent->rec.key,
                    0, &key) != 0)
        return tg_fail(e, TG_E_FATAL, 0, "out of memory");
    return get_plan(a, target, &key, t, e) ? 0 : -1;
}

int rp__apply_record(rp_apply *a, const jr_entry *ent, const char *target,
                     jr_err *e)
{
    jr_entry m = *ent;
    const jr_record *r = &m.rec;
    int ret;

    /* the target's name for SQL; the source's for the journal */
    a->src = ent->rec.table;
    m.rec.table = target;
    switch (r->kind) {
    case JR_K_INSERT:
    case JR_K_UPDATE:
    case JR_K_DELETE:
        ret = apply_row(a, &m, e);
        if (ret != 0 && e->cls == TG_E_DATA && a->single &&
            strcmp(a->cfg->on_error, "skip") == 0) {
            char why[sizeof(e->msg)];
            snprintf(why, sizeof(why), "%s", e->msg);
            memset(e, 0, sizeof(*e));
            stmt_reset(a);
            ret = rp__reject_record(a->db, a->cfg->replica, ent,
                                    ent->rec.table, why, a->limit, e);
            if (ret == 0)
                a->rejected++;
        }
        return ret;
    case JR_K_SNAP_BEGIN:
    case JR_K_TRUNCATE:
        return delete_all(a, r->table, e);
    case JR_K_SNAP_END:
        return rp__apply_flush(a, e);
    case JR_K_SCHEMA:
        if (rp__apply_flush(a, e) != 0)
            return -1;
        rp__apply_forget(a, r->table);
        return tg_table_schema(a->ts, a->db, r->table, r->aux, r->aux_len,
                               e);
    case JR_K_DROP:
        if (rp__apply_flush(a, e) != 0)
            return -1;
        rp__apply_forget(a, r->table);
        return tg_table_drop(a->ts, a->db, r->table, e);
    default:
        return 0;
    }
}
