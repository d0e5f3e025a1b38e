/*
** rp_apply.c -- applying journal records inside the group's transaction.
**
** Rows are buffered into multi-row statements per (table, operation) and
** flushed when the table, the operation or the column list changes, or
** the batch is full; order within a table is preserved. How a row change
** becomes SQL depends on the table's PLAN, decided once per table:
**   UPSERT   INSERT ... ON DUPLICATE KEY UPDATE (the target has a unique
**            index on the key; the source declared no other UNIQUE set)
**   REPLACE  REPLACE INTO: the source has UNIQUE sets and the target has
**            the same unique indexes, so MariaDB's REPLACE removes a row
**            that conflicts on one of them exactly as SQLite's REPLACE
**            did (capture logs no delete for that row when the
**            application runs without recursive_triggers)
**   PERROW   like REPLACE, for a target lacking some of those unique
**            indexes: per row, delete rows holding the same values in a
**            source UNIQUE set under another key, then upsert
**   OLDIMG   source keyed by rowid, target has no such column: match
**            rows by their old image (UPDATE/DELETE ... LIMIT 1)
** A key change (UPDATE whose new key differs from its old key) is a
** delete of the old key followed by an upsert of the new row. Every
** operation is idempotent (except OLDIMG inserts), so replaying a group
** twice converges to the same state.
**
** INVARIANTS:
**  (A1) nothing here commits: the caller commits the group together with
**       its position row (rp_position_set), or rolls it all back.
**  (A2) in `single` mode every row is its own statement, so a failing
**       value is pinned to one seq; with --on-error=skip the row goes to
**       sluice_rejects (same transaction) and the group continues.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rp.h"
#include "sl_json.h"

enum { PLAN_UPSERT, PLAN_REPLACE, PLAN_PERROW, PLAN_OLDIMG };

typedef struct plan {
    char *table;
    int mode;
    char **uniq;                 /* source unique sets: "a,b" lowercased */
    int nuniq;
    struct plan *next;
} plan;

struct rp_apply {
    MYSQL *db;
    rp_tables *ts;
    jr_journal *j;
    const rp_cfg *cfg;
    char uuid[40];
    plan *plans;
    int single;                  /* one row per statement */
    rp_stmt put, del;            /* open statements (see add_row) */
    rp_str keybuf;               /* scratch: a row's key literals */
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
    rp_stmt_reset(&a->put);
    rp_stmt_reset(&a->del);
}

rp_apply *rp_apply_new(MYSQL *db, rp_tables *ts, jr_journal *j,
                       const rp_cfg *cfg, const char *journal_uuid)
{
    rp_apply *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    a->db = db;
    a->ts = ts;
    a->j = j;
    a->cfg = cfg;
    snprintf(a->uuid, sizeof(a->uuid), "%s", journal_uuid);
    return a;
}

void rp_apply_free(rp_apply *a)
{
    if (a == NULL)
        return;
    rp_stmt_free(&a->put);
    rp_stmt_free(&a->del);
    rp_str_free(&a->keybuf);
    plans_free(a->plans);
    free(a);
}

void rp_apply_reset(rp_apply *a)
{
    stmt_reset(a);
    plans_free(a->plans);
    a->plans = NULL;
    a->rejected = 0;
}

void rp_apply_set_single(rp_apply *a, int single)
{
    a->single = single;
}

uint64_t rp_apply_rejected(const rp_apply *a)
{
    return a->rejected;
}

void rp_apply_forget(rp_apply *a, const char *table)
{
    for (plan **pp = &a->plans; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->table, table) == 0) {
            plan *p = *pp;
            *pp = p->next;
            p->next = NULL;
            plans_free(p);
            break;
        }
    rp_table_forget(a->ts, table);
}

/* "a,b" lowercased from a JSON array of names */
static char *set_of(const sl_json *arr)
{
    rp_str s = { 0 };
    for (const sl_json *k = arr ? arr->child : NULL; k; k = k->next) {
        if (k->type != SL_JSTR)
            continue;
        if (s.len)
            rp_str_adds(&s, ",");
        for (const char *q = k->str; *q; q++) {
            char c = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
            rp_str_add(&s, &c, 1);
        }
    }
    return s.p ? s.p : strdup("");
}

static int has_set(const rp_table *t, const char *set)
{
    for (int i = 0; i < t->nuniq; i++)
        if (strcmp(t->uniq_sql[i], set) == 0)
            return 1;
    return 0;
}

static plan *get_plan(rp_apply *a, const char *table, const jr_row *key,
                      rp_table *t, rp_error *e)
{
    plan *p;
    char *buf = NULL, *keyset;
    size_t len = 0, cap = 0;
    sl_json *js = NULL;
    rp_str ks = { 0 };

    for (p = a->plans; p; p = p->next)
        if (strcmp(p->table, table) == 0)
            return p;
    if ((p = calloc(1, sizeof(*p))) == NULL ||
        (p->table = strdup(table)) == NULL) {
        free(p);
        rp_fail(e, RP_E_FATAL, 0, "out of memory");
        return NULL;
    }
    /* the source's unique sets, from the journal's latest schema */
    if (jr_journal_table_schema(a->j, table, NULL, 0, &len, NULL) == JR_OK) {
        cap = len;
        buf = malloc(cap + 1);
        if (buf && jr_journal_table_schema(a->j, table, buf, cap, &len,
                                           NULL) == JR_OK)
            js = sl_json_parse(buf, len, NULL, 0);
    }
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
    free(buf);
    /* is the key a unique index of the target? */
    for (uint32_t i = 0; i < key->n; i++) {
        if (i)
            rp_str_adds(&ks, ",");
        for (const char *q = key->names[i]; *q; q++) {
            char c = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
            rp_str_add(&ks, &c, 1);
        }
    }
    keyset = ks.p ? ks.p : strdup("");
    if (!has_set(t, keyset)) {
        int keyless = key->n == 1 && rp_table_col(t, key->names[0]) < 0 &&
                      (!strcmp(key->names[0], "rowid") ||
                       !strcmp(key->names[0], "oid") ||
                       !strcmp(key->names[0], "_rowid_"));
        if (!keyless) {
            rp_fail(e, RP_E_CONFIG, 0, "target table %s has no primary key "
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
            if (!has_set(t, p->uniq[i]))
                p->mode = PLAN_PERROW;
    }
    free(keyset);
    p->next = a->plans;
    a->plans = p;
    return p;
}

/* ---- statements ---- */

static int run(rp_apply *a, const char *sql, size_t len, rp_error *e)
{
    if (mysql_real_query(a->db, sql, (unsigned long)len) != 0)
        return rp_fail_mysql(e, a->db, "applying changes");
    return 0;
}

/* Flush both open statements: deletes first (their keys are disjoint
** from the upserts' whenever both are open, see add_row). */
int rp_apply_flush(rp_apply *a, rp_error *e)
{
    if (rp_stmt_flush(&a->del, a->db, e) != 0) {
        rp_stmt_reset(&a->put);
        return -1;
    }
    return rp_stmt_flush(&a->put, a->db, e);
}

/* Literal of value i of row r for target table t into s. */
static int add_value(rp_apply *a, rp_str *s, rp_table *t, const jr_row *r,
                     uint32_t i, const jr_entry *ent, rp_error *e)
{
    char why[200];
    int c = rp_table_col(t, r->names[i]);

    if (c < 0)
        return rp_fail(e, RP_E_CONFIG, 0, "target table %s has no column "
                       "%s (seq %llu)", t->name, r->names[i],
                       (unsigned long long)ent->seq);
    if (rp_value_sql(s, a->db, &t->cols[c], &r->vals[i], why,
                     sizeof(why)) != 0)
        return rp_bad_value(ent, r->names[i], &r->vals[i], why, e);
    return 0;
}

/* `col1 = v1 AND col2 = v2` (NULL-safe <=>) for row r */
static int where_row(rp_apply *a, rp_str *s, rp_table *t, const jr_row *r,
                     const jr_entry *ent, rp_error *e)
{
    int first = 1;

    for (uint32_t i = 0; i < r->n; i++) {
        int c = rp_table_col(t, r->names[i]);
        if (c >= 0 && t->cols[c].generated)
            continue;
        if (!first)
            rp_str_adds(s, " AND ");
        first = 0;
        /* text is matched byte for byte, whatever the column's
        ** collation ('A' is not 'a', 'a ' is not 'a') */
        if (c >= 0 && (t->cols[c].kind == RP_T_TEXT ||
                       t->cols[c].kind == RP_T_JSON))
            rp_str_adds(s, "BINARY ");
        rp_str_ident(s, r->names[i]);
        rp_str_adds(s, " <=> ");
        if (c >= 0 && (t->cols[c].kind == RP_T_TEXT ||
                       t->cols[c].kind == RP_T_JSON))
            rp_str_adds(s, "BINARY ");
        if (add_value(a, s, t, r, i, ent, e) != 0)
            return -1;
    }
    return 0;
}

/* The literal text of a row's key (its values of the key columns named
** by `key`), for the statements' key sets. NULL if a column is missing. */
static const char *key_string(rp_apply *a, rp_table *t, const jr_row *r,
                              const jr_row *key)
{
    char why[200];

    a->keybuf.len = 0;
    for (uint32_t k = 0; k < key->n; k++) {
        uint32_t i;
        int c = rp_table_col(t, key->names[k]);
        for (i = 0; i < r->n; i++)
            if (strcmp(r->names[i], key->names[k]) == 0)
                break;
        if (i == r->n || c < 0)
            return NULL;
        rp_str_add(&a->keybuf, "\x1f", 1);
        if (rp_value_sql(&a->keybuf, a->db, &t->cols[c], &r->vals[i], why,
                         sizeof(why)) != 0)
            return NULL;
    }
    return a->keybuf.oom ? NULL : a->keybuf.p;
}

/* Add one row change. With `commute` (the key is the table's only unique
** key) an upsert and a delete statement stay open side by side while
** their keys are disjoint: changes to different rows commute, so a stream
** mixing updates and deletes still travels in full batches. A row whose
** key the other statement holds flushes that statement first; otherwise
** (and always without `commute`) the other statement is flushed before
** the row joins its own, which keeps the changes in order. */
static int add_row(rp_apply *a, int op, rp_table *t, const jr_row *r,
                   const jr_row *key, int replace, int commute,
                   const jr_entry *ent, rp_error *e)
{
    rp_stmt *me = op == RP_OP_PUT ? &a->put : &a->del;
    rp_stmt *other = op == RP_OP_PUT ? &a->del : &a->put;
    const char *ks = NULL;

    if (commute && !a->single)
        ks = key_string(a, t, r, key);
    if (other->op != RP_OP_NONE &&
        (ks == NULL || strcmp(other->table, t->name) != 0 ||
         rp_stmt_has_key(other, ks)))
        if (rp_stmt_flush(other, a->db, e) != 0)
            return -1;
    if (me->op != RP_OP_NONE && !rp_stmt_fits(me, op, t->name, r, replace))
        if (rp_stmt_flush(me, a->db, e) != 0)
            return -1;
    if (me->op == RP_OP_NONE &&
        rp_stmt_begin(me, op, t, r, replace, ent, a->single) != 0)
        return rp_fail(e, RP_E_FATAL, 0, "out of memory");
    if (rp_stmt_add(me, a->db, t, r, ent, ks, e) != 0)
        return -1;
    if (a->single || me->nrows >= (uint64_t)a->cfg->batch_rows ||
        me->sql.len > 4u * 1024 * 1024)
        return rp_stmt_flush(me, a->db, e);
    return 0;
}

/* PERROW: delete rows that hold r's values of a source UNIQUE set under
** another key. */
static int delete_conflicts(rp_apply *a, plan *p, rp_table *t,
                            const jr_row *r, const jr_row *key,
                            const jr_entry *ent, rp_error *e)
{
    for (int u = 0; u < p->nuniq; u++) {
        rp_str s = { 0 };
        char *cols = strdup(p->uniq[u]), *save = NULL;
        int ret = 0;

        rp_str_adds(&s, "DELETE FROM ");
        rp_str_ident(&s, t->name);
        rp_str_adds(&s, " WHERE ");
        for (char *c = strtok_r(cols, ",", &save); c && ret == 0;
             c = strtok_r(NULL, ",", &save)) {
            for (uint32_t i = 0; i < r->n; i++)
                if (strcasecmp(r->names[i], c) == 0) {
                    rp_str_ident(&s, r->names[i]);
                    rp_str_adds(&s, " = ");
                    ret = add_value(a, &s, t, r, i, ent, e);
                    rp_str_adds(&s, " AND ");
                }
        }
        rp_str_adds(&s, "NOT (");
        for (uint32_t i = 0; ret == 0 && i < key->n; i++) {
            if (i)
                rp_str_adds(&s, " AND ");
            rp_str_ident(&s, key->names[i]);
            rp_str_adds(&s, " <=> ");
            ret = add_value(a, &s, t, key, i, ent, e);
        }
        rp_str_adds(&s, ")");
        if (ret == 0)
            ret = run(a, s.p, s.len, e);
        free(cols);
        rp_str_free(&s);
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

static int apply_oldimg(rp_apply *a, rp_table *t, const jr_entry *ent,
                        rp_error *e)
{
    const jr_record *r = &ent->rec;
    jr_row nw = r->new_row;
    rp_str s = { 0 };
    int ret = 0;

    if (rp_apply_flush(a, e) != 0)
        return -1;
    /* the rowid column is not in the target: leave it out of images */
    if (nw.n > 0 && rp_table_col(t, nw.names[nw.n - 1]) < 0)
        nw.n--;
    if (r->kind == JR_K_INSERT) {
        rp_str_adds(&s, "INSERT INTO ");
        rp_str_ident(&s, t->name);
        rp_str_adds(&s, " (");
        for (uint32_t i = 0; i < nw.n; i++) {
            if (i)
                rp_str_adds(&s, ", ");
            rp_str_ident(&s, nw.names[i]);
        }
        rp_str_adds(&s, ") VALUES (");
        for (uint32_t i = 0; ret == 0 && i < nw.n; i++) {
            if (i)
                rp_str_adds(&s, ", ");
            ret = add_value(a, &s, t, &nw, i, ent, e);
        }
        rp_str_adds(&s, ")");
    } else {
        rp_str_adds(&s, r->kind == JR_K_DELETE ? "DELETE FROM " : "UPDATE ");
        rp_str_ident(&s, t->name);
        if (r->kind == JR_K_UPDATE) {
            rp_str_adds(&s, " SET ");
            for (uint32_t i = 0; ret == 0 && i < nw.n; i++) {
                if (i)
                    rp_str_adds(&s, ", ");
                rp_str_ident(&s, nw.names[i]);
                rp_str_adds(&s, " = ");
                ret = add_value(a, &s, t, &nw, i, ent, e);
            }
        }
        rp_str_adds(&s, " WHERE ");
        if (ret == 0)
            ret = where_row(a, &s, t, &r->old_row, ent, e);
        rp_str_adds(&s, " LIMIT 1");
    }
    if (ret == 0)
        ret = s.oom ? rp_fail(e, RP_E_FATAL, 0, "out of memory")
                    : run(a, s.p, s.len, e);
    rp_str_free(&s);
    return ret;
}

static int delete_all(rp_apply *a, const char *table, rp_error *e)
{
    rp_str s = { 0 };
    int ret;

    if (rp_apply_flush(a, e) != 0)
        return -1;
    rp_str_adds(&s, "DELETE FROM ");
    rp_str_ident(&s, table);
    ret = run(a, s.p, s.len, e);
    rp_str_free(&s);
    return ret;
}

static int apply_row(rp_apply *a, const jr_entry *ent, rp_error *e)
{
    const jr_record *r = &ent->rec;
    rp_table *t = rp_table_get(a->ts, a->db, r->table, e);
    plan *p;
    int replace, commute;

    if (t == NULL)
        return e->cls ? -1 : rp_fail(e, RP_E_CONFIG, 0, "target table %s "
                                     "does not exist (seq %llu); its schema "
                                     "record is missing from the journal",
                                     r->table, (unsigned long long)ent->seq);
    if ((p = get_plan(a, r->table, &r->key, t, e)) == NULL)
        return -1;
    if (p->mode == PLAN_OLDIMG)
        return apply_oldimg(a, t, ent, e);
    replace = p->mode == PLAN_REPLACE;
    commute = p->mode == PLAN_UPSERT;
    if (r->kind == JR_K_DELETE ||
        (r->kind == JR_K_UPDATE && key_changed(&r->key, &r->new_row)))
        if (add_row(a, RP_OP_DEL, t, &r->key, &r->key, 0, commute, ent,
                    e) != 0)
            return -1;
    if (r->kind == JR_K_DELETE)
        return 0;
    if (p->mode == PLAN_PERROW) {
        jr_row nk = r->key;
        jr_value kv[16];
        /* the new key: the new row's values of the key columns */
        if (r->key.n <= 16) {
            for (uint32_t k = 0; k < r->key.n; k++)
                for (uint32_t i = 0; i < r->new_row.n; i++)
                    if (!strcmp(r->key.names[k], r->new_row.names[i]))
                        kv[k] = r->new_row.vals[i];
            nk.vals = kv;
        }
        if (rp_apply_flush(a, e) != 0 ||
            delete_conflicts(a, p, t, &r->new_row, &nk, ent, e) != 0)
            return -1;
    }
    return add_row(a, RP_OP_PUT, t, &r->new_row, &r->key, replace, commute,
                   ent, e);
}

int rp_apply_check(rp_apply *a, const jr_entry *ent, rp_error *e)
{
    rp_table *t = rp_table_get(a->ts, a->db, ent->rec.table, e);

    if (t == NULL)
        return e->cls ? -1 : rp_fail(e, RP_E_CONFIG, 0, "target table %s "
                                     "does not exist (seq %llu)",
                                     ent->rec.table,
                                     (unsigned long long)ent->seq);
    return get_plan(a, ent->rec.table, &ent->rec.key, t, e) ? 0 : -1;
}

static int record_reject(rp_apply *a, const jr_entry *ent, const char *why,
                         rp_error *e)
{
    rp_str s = { 0 };
    char kt[400];
    int ret;

    rp_key_text(kt, sizeof(kt), &ent->rec.key);
    rp_str_adds(&s, "INSERT INTO sluice_rejects(replica, seq, table_name, "
                    "row_key, error, row_json) VALUES (");
    rp_str_quote(&s, a->db, a->cfg->replica, strlen(a->cfg->replica));
    rp_str_addf(&s, ", %llu, ", (unsigned long long)ent->seq);
    rp_str_quote(&s, a->db, ent->rec.table, strlen(ent->rec.table));
    rp_str_adds(&s, ", ");
    rp_str_quote(&s, a->db, kt, strlen(kt));
    rp_str_adds(&s, ", ");
    rp_str_quote(&s, a->db, why, strlen(why));
    rp_str_adds(&s, ", JSON_OBJECT(");
    for (uint32_t i = 0; i < ent->rec.new_row.n; i++) {
        char v[200];
        rp_value_show(v, sizeof(v), &ent->rec.new_row.vals[i]);
        if (i)
            rp_str_adds(&s, ", ");
        rp_str_quote(&s, a->db, ent->rec.new_row.names[i],
                     strlen(ent->rec.new_row.names[i]));
        rp_str_adds(&s, ", ");
        rp_str_quote(&s, a->db, v, strlen(v));
    }
    rp_str_adds(&s, "))");
    ret = s.oom ? rp_fail(e, RP_E_FATAL, 0, "out of memory")
                : run(a, s.p, s.len, e);
    rp_str_free(&s);
    if (ret == 0)
        a->rejected++;
    return ret;
}

int rp_apply_record(rp_apply *a, const jr_entry *ent, rp_error *e)
{
    const jr_record *r = &ent->rec;
    int ret;

    switch (r->kind) {
    case JR_K_INSERT:
    case JR_K_UPDATE:
    case JR_K_DELETE:
        ret = apply_row(a, ent, e);
        if (ret != 0 && e->cls == RP_E_DATA && a->single &&
            strcmp(a->cfg->on_error, "skip") == 0) {
            char why[sizeof(e->msg)];
            snprintf(why, sizeof(why), "%s", e->msg);
            memset(e, 0, sizeof(*e));
            stmt_reset(a);
            return record_reject(a, ent, why, e);
        }
        return ret;
    case JR_K_SNAP_BEGIN:
    case JR_K_TRUNCATE:
        return delete_all(a, r->table, e);
    case JR_K_SNAP_END:
        return rp_apply_flush(a, e);
    case JR_K_SCHEMA:
        if (rp_apply_flush(a, e) != 0)
            return -1;
        rp_apply_forget(a, r->table);
        return rp_table_schema(a->ts, a->db, r->table, r->aux, r->aux_len,
                               e);
    case JR_K_DROP:
        if (rp_apply_flush(a, e) != 0)
            return -1;
        rp_apply_forget(a, r->table);
        return rp_table_drop(a->ts, a->db, r->table, e);
    default:
        return 0;
    }
}

/* ---- position and rejects tables ---- */

int rp_position_init(MYSQL *db, rp_error *e)
{
    static const char sql[] =
        "CREATE TABLE IF NOT EXISTS sluice_position ("
        " replica VARCHAR(64) NOT NULL PRIMARY KEY,"
        " journal_uuid CHAR(36) NOT NULL,"
        " seq BIGINT UNSIGNED NOT NULL,"
        " updated_at DATETIME(6) NOT NULL) ENGINE=InnoDB;"
        "CREATE TABLE IF NOT EXISTS sluice_rejects ("
        " id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
        " replica VARCHAR(64) NOT NULL, seq BIGINT UNSIGNED NOT NULL,"
        " table_name VARCHAR(255) NOT NULL, row_key TEXT NOT NULL,"
        " error TEXT NOT NULL, row_json LONGTEXT,"
        " created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),"
        " KEY (replica, seq)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;"
        "CREATE TABLE IF NOT EXISTS sluice_tables ("
        " table_name VARCHAR(255) NOT NULL PRIMARY KEY,"
        " schema_json LONGTEXT NOT NULL) ENGINE=InnoDB "
        " DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin";
    const char *p = sql;

    /* one statement at a time (no multi-statement flag on the link) */
    while (*p) {
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (mysql_real_query(db, p, (unsigned long)n) != 0)
            return rp_fail_mysql(e, db, "creating sluice_position");
        p += n + (end ? 1 : 0);
    }
    if (mysql_commit(db) != 0)
        return rp_fail_mysql(e, db, "creating sluice_position");
    return 0;
}

int rp_position_get(MYSQL *db, const char *replica, const char *uuid,
                    uint64_t *seq, rp_error *e)
{
    rp_str s = { 0 };
    MYSQL_RES *r;
    MYSQL_ROW row;
    int ret = 0;

    *seq = 0;
    rp_str_adds(&s, "SELECT journal_uuid, seq FROM sluice_position WHERE "
                    "replica = ");
    rp_str_quote(&s, db, replica, strlen(replica));
    if (mysql_real_query(db, s.p, (unsigned long)s.len) != 0 ||
        (r = mysql_store_result(db)) == NULL) {
        rp_str_free(&s);
        return rp_fail_mysql(e, db, "reading sluice_position");
    }
    rp_str_free(&s);
    if ((row = mysql_fetch_row(r)) != NULL) {
        if (strcmp(row[0], uuid) != 0)
            ret = rp_fail(e, RP_E_CONFIG, 0, "sluice_position says replica "
                          "%s applied journal %s, but this journal is %s: "
                          "refusing to mix journals in one target (use "
                          "another --replica name or target database)",
                          replica, row[0], uuid);
        else
            *seq = strtoull(row[1], NULL, 10);
    }
    mysql_free_result(r);
    mysql_commit(db);            /* end the read's snapshot */
    return ret;
}

int rp_position_set(MYSQL *db, const char *replica, const char *uuid,
                    uint64_t seq, rp_error *e)
{
    rp_str s = { 0 };
    int ret;

    rp_str_adds(&s, "INSERT INTO sluice_position(replica, journal_uuid, "
                    "seq, updated_at) VALUES (");
    rp_str_quote(&s, db, replica, strlen(replica));
    rp_str_adds(&s, ", ");
    rp_str_quote(&s, db, uuid, strlen(uuid));
    rp_str_addf(&s, ", %llu, UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE "
                "journal_uuid = VALUES(journal_uuid), seq = VALUES(seq), "
                "updated_at = VALUES(updated_at)", (unsigned long long)seq);
    ret = mysql_real_query(db, s.p, (unsigned long)s.len) != 0
              ? rp_fail_mysql(e, db, "writing sluice_position") : 0;
    rp_str_free(&s);
    return ret;
}
