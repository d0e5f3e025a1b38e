/*
** rp_stmt.c -- one multi-row statement being built: INSERT ... ON
** DUPLICATE KEY UPDATE, REPLACE, or DELETE ... WHERE (key) IN (...).
**
** A statement holds rows of one table with one column list; it remembers
** the keys it holds (rp__stmt_has_key) so that rp_apply.c can keep an upsert
** and a delete statement open side by side as long as their keys are
** disjoint -- then their order does not matter, and a change stream that
** mixes updates and deletes still travels in full batches.
**
** MERGE GUARD. An upsert may land on a row that another source key wrote:
** a key the target compares loosely ('Bob' = 'bob' under *_ci, 'a' = 'a '
** under PAD SPACE) or a conflict on a unique index the source does not
** have. ON DUPLICATE KEY UPDATE therefore first compares the stored key
** with the incoming one byte for byte; when they differ it keeps the row's
** key and counts the merge in @sluice_merge; the group's position write
** (rp_meta.c) only happens while that count is 0, so a merge never
** commits. Deletes of keys a loose collation compares
** re-check them by bytes, so deleting 'bob' never removes 'Bob'.
**
** SIZE. A statement is kept under the server's max_allowed_packet: a row
** that would push it over flushes it first (RP_STMT_FULL); a row that
** alone is over it is refused naming the setting.
**
** INVARIANTS:
**  (T1) column names are mapped to target columns once, when the
**       statement begins; every later row must have the same names.
**  (T2) in single mode (one row per statement) a failure is reported with
**       the row's seq, table, key, the column the server named and that
**       column's value.
**  (T3) sql.len + exact.len + lexact.len + tail <= limit whenever rows
**       are held.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rp.h"

/* ---- key set (open addressing, FNV-1a) ---- */

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void keys_reset(rp_stmt *s)
{
    for (size_t i = 0; i < s->kcap; i++) {
        free(s->keys[i]);
        s->keys[i] = NULL;
    }
    s->kn = 0;
}

int rp__stmt_has_key(const rp_stmt *s, const char *key)
{
    if (s->kcap == 0 || key == NULL)
        return 0;
    for (size_t i = fnv(key) & (s->kcap - 1);; i = (i + 1) & (s->kcap - 1)) {
        if (s->keys[i] == NULL)
            return 0;
        if (strcmp(s->keys[i], key) == 0)
            return 1;
    }
}

static int keys_add(rp_stmt *s, const char *key)
{
    if (rp__stmt_has_key(s, key))
        return 0;
    if (2 * (s->kn + 1) > s->kcap) {            /* grow, rehash */
        size_t cap = s->kcap ? s->kcap * 2 : 1024, n = s->kcap;
        char **old = s->keys, **nk = calloc(cap, sizeof(char *));
        if (nk == NULL)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (old[i] != NULL) {
                size_t j = fnv(old[i]) & (cap - 1);
                while (nk[j] != NULL)
                    j = (j + 1) & (cap - 1);
                nk[j] = old[i];
            }
        free(old);
        s->keys = nk;
        s->kcap = cap;
    }
    for (size_t i = fnv(key) & (s->kcap - 1);; i = (i + 1) & (s->kcap - 1))
        if (s->keys[i] == NULL) {
            if ((s->keys[i] = strdup(key)) == NULL)
                return -1;
            s->kn++;
            return 0;
        }
}

/* ---- statement ---- */

void rp__stmt_reset(rp_stmt *s)
{
    for (uint32_t i = 0; i < s->ncols; i++)
        free((char *)s->colnames[i]);
    free(s->colnames);
    s->colnames = NULL;
    s->ncols = 0;
    for (uint32_t i = 0; i < s->rown; i++)
        free(s->rownames[i]);
    free(s->rownames);
    free(s->rowmap);
    s->rownames = NULL;
    s->rowmap = NULL;
    s->rown = 0;
    free(s->table);
    s->table = NULL;
    s->op = RP_OP_NONE;
    s->nrows = 0;
    s->sql.len = 0;
    s->exact.len = 0;
    s->lexact.len = 0;
    free(s->keycol);
    s->keycol = NULL;
    s->guard = s->exact_del = s->ledger_del = 0;
    s->tail = 0;
    keys_reset(s);
}

void rp__stmt_free(rp_stmt *s)
{
    rp__stmt_reset(s);
    free(s->keys);
    tg_str_free(&s->sql);
    tg_str_free(&s->exact);
    tg_str_free(&s->lexact);
    tg_str_free(&s->first_vals);
    memset(s, 0, sizeof(*s));
}

void rp__key_text(char *buf, size_t cap, const jr_row *k)
{
    size_t o = 0;
    buf[0] = 0;
    for (uint32_t i = 0; i < k->n && o + 4 < cap; i++) {
        char v[100];
        tg_value_show(v, sizeof(v), &k->vals[i]);
        o += (size_t)snprintf(buf + o, cap - o, "%s%s=%s", i ? ", " : "",
                              k->names[i], v);
    }
}

int rp__bad_value(const jr_entry *ent, const char *col, const jr_value *v,
                  const char *why, jr_err *e)
{
    char kt[200], vt[120];

    rp__key_text(kt, sizeof(kt), &ent->rec.key);
    tg_value_show(vt, sizeof(vt), v);
    return tg_fail(e, TG_E_DATA, 0, "seq %llu table %s key (%s) column %s "
                   "value %s: %s", (unsigned long long)ent->seq,
                   ent->rec.table, kt, col, vt, why);
}

int rp__stmt_fits(const rp_stmt *s, int op, const char *table,
                  const jr_row *r, int replace)
{
    if (s->op != op || strcmp(s->table, table) != 0 || r->n != s->rown ||
        (op == RP_OP_PUT && s->replace != replace))
        return 0;
    for (uint32_t i = 0; i < r->n; i++)
        if (strcmp(s->rownames[i], r->names[i]) != 0)
            return 0;
    return 1;
}

static int in_row(const jr_row *r, const char *name)
{
    for (uint32_t i = 0; r != NULL && i < r->n; i++)
        if (strcmp(r->names[i], name) == 0)
            return 1;
    return 0;
}

static int is_ledger(const char *name)
{
    return strcmp(name, TG_LEDGER_COL) == 0;
}

static int is_bytes(const tg_col *c)
{
    return c->kind == TG_T_TEXT || c->kind == TG_T_JSON ||
           c->kind == TG_T_BINARY || c->kind == TG_T_OTHER;
}

int rp__stmt_begin(rp_stmt *s, int op, tg_table *t, const jr_row *r,
                   const jr_row *key, int replace, const jr_entry *ent,
                   int single)
{
    s->op = op;
    s->replace = replace;
    s->table = strdup(t->name);
    s->sql.len = 0;
    s->exact.len = 0;
    s->lexact.len = 0;
    s->first_seq = ent->seq;
    s->first_key[0] = 0;
    s->first_vals.len = 0;
    s->tail = 64;
    if (op == RP_OP_DEL) {
        tg_str_adds(&s->sql, "DELETE FROM ");
        tg_str_ident(&s->sql, t->name);
        tg_str_adds(&s->sql, " WHERE (");
        for (uint32_t i = 0, n = 0; i < r->n; i++) {
            if (is_ledger(r->names[i]))
                continue;                   /* checked apart, see below */
            if (n++)
                tg_str_adds(&s->sql, ", ");
            tg_str_ident(&s->sql, r->names[i]);
        }
        tg_str_adds(&s->sql, ") IN (");
    } else {
        tg_str_adds(&s->sql, replace ? "REPLACE INTO " : "INSERT INTO ");
        tg_str_ident(&s->sql, t->name);
        tg_str_adds(&s->sql, " (");
    }
    s->colnames = calloc(r->n + 1, sizeof(char *));
    s->rownames = calloc(r->n + 1, sizeof(char *));
    s->rowmap = calloc(r->n + 1, sizeof(int));
    s->keycol = calloc(r->n + 1, sizeof(int));
    if (s->colnames == NULL || s->table == NULL || s->rownames == NULL ||
        s->rowmap == NULL || s->keycol == NULL)
        return -1;
    for (uint32_t i = 0; i < r->n; i++) {
        int c = tg_table_col(t, r->names[i]);
        s->rownames[s->rown] = strdup(r->names[i]);
        /* 2: a key column compared by bytes, 1: by value */
        s->keycol[s->rown] = is_ledger(r->names[i]) ? 3
                             : !in_row(key, r->names[i]) ? 0
                             : c >= 0 && is_bytes(&t->cols[c]) ? 2 : 1;
        s->rowmap[s->rown++] = c;
        if (op == RP_OP_DEL && c >= 0 && t->cols[c].loose)
            s->exact_del = 1;
        if (op == RP_OP_DEL && is_ledger(r->names[i]))
            s->ledger_del = 1;
        if (op == RP_OP_PUT && c >= 0 && t->cols[c].generated) {
            s->rowmap[s->rown - 1] = -2;            /* never written */
            continue;
        }
        if (op == RP_OP_PUT) {
            if (s->ncols)
                tg_str_adds(&s->sql, ", ");
            tg_str_ident(&s->sql, r->names[i]);
            s->tail += 2 * strlen(r->names[i]) + 24;
            if (s->keycol[s->rown - 1])
                s->tail += 3 * strlen(r->names[i]) + 48;
        }
        s->colnames[s->ncols++] = strdup(r->names[i]);
    }
    if (op == RP_OP_PUT)
        tg_str_adds(&s->sql, ") VALUES ");
    s->guard = op == RP_OP_PUT && !replace && key != NULL && key->n > 0;
    if (s->ledger_del) {
        /* AND (ledger IS NULL OR ledger IN ('i1;', ...)): a row another
        ** source key wrote is never deleted (a row without a ledger was
        ** not written by replay since the table got one: deleted by key,
        ** by bytes too under a loose collation) */
        tg_str_adds(&s->lexact, " AND (`" TG_LEDGER_COL "` IS NULL OR `"
                                TG_LEDGER_COL "` IN (");
    }
    if (s->exact_del) {
        /* AND (BINARY k1, k2) IN ((BINARY 'v', 2), ...) */
        tg_str_adds(&s->exact, ") AND (");
        for (uint32_t i = 0, n = 0; i < r->n; i++) {
            int c = s->rowmap[i];
            if (is_ledger(r->names[i]))
                continue;
            if (n++)
                tg_str_adds(&s->exact, ", ");
            if (c >= 0 && t->cols[c].loose)
                tg_str_adds(&s->exact, "BINARY ");
            tg_str_ident(&s->exact, r->names[i]);
        }
        tg_str_adds(&s->exact, ") IN (");
    }
    if (single) {
        rp__key_text(s->first_key, sizeof(s->first_key), &ent->rec.key);
        for (uint32_t i = 0; i < r->n; i++) {
            char v[120];
            tg_value_show(v, sizeof(v), &r->vals[i]);
            tg_str_add(&s->first_vals, r->names[i], strlen(r->names[i]) + 1);
            tg_str_add(&s->first_vals, v, strlen(v) + 1);
        }
    }
    return 0;
}

int rp__stmt_add(rp_stmt *s, MYSQL *db, tg_table *t, const jr_row *r,
                 const jr_entry *ent, const char *key, int flags,
                 rp_rounds *rounds, size_t limit, jr_err *e)
{
    size_t mark = s->sql.len, xmark = s->exact.len, lmark = s->lexact.len;
    uint32_t alt[64];
    int nalt = 0;

    if (s->nrows) {
        tg_str_adds(&s->sql, ", ");
        if (s->exact_del)
            tg_str_adds(&s->exact, ", ");
        if (s->ledger_del)
            tg_str_adds(&s->lexact, ", ");
    }
    tg_str_adds(&s->sql, "(");
    if (s->exact_del)
        tg_str_adds(&s->exact, "(");
    for (uint32_t i = 0, n = 0; i < r->n; i++) {
        int c = s->rowmap[i], altered = 0;
        size_t vstart;
        char why[300];
        if (c == -2)
            continue;
        if (s->ledger_del && s->keycol[i] == 3) {
            if (tg_value_sql(&s->lexact, db, &t->cols[c], &r->vals[i],
                             flags, NULL, why, sizeof(why)) != 0) {
                rp__bad_value(ent, r->names[i], &r->vals[i], why, e);
                goto undo;
            }
            continue;
        }
        if (n++)
            tg_str_adds(&s->sql, ", ");
        vstart = s->sql.len;
        if (c < 0) {
            tg_fail(e, TG_E_CONFIG, 0, "target table %s has no column %s "
                    "(seq %llu)", t->name, r->names[i],
                    (unsigned long long)ent->seq);
        } else if (tg_value_sql(&s->sql, db, &t->cols[c], &r->vals[i],
                                flags | (s->keycol[i] ? TG_POL_KEY : 0),
                                &altered, why, sizeof(why)) == 0) {
            if (altered && nalt < 64)
                alt[nalt++] = i;
            if (s->exact_del) {
                if (n > 1)
                    tg_str_adds(&s->exact, ", ");
                if (t->cols[c].loose)
                    tg_str_adds(&s->exact, "BINARY ");
                if (s->sql.p != NULL)
                    tg_str_add(&s->exact, s->sql.p + vstart,
                               s->sql.len - vstart);
            }
            continue;
        } else {
            rp__bad_value(ent, r->names[i], &r->vals[i], why, e);
        }
        goto undo;
    }
    tg_str_adds(&s->sql, ")");
    if (s->exact_del)
        tg_str_adds(&s->exact, ")");
    if (limit > 0 &&
        s->sql.len + s->exact.len + s->lexact.len + s->tail > limit) {
        if (s->nrows > 0) {
            s->sql.len = mark;
            s->exact.len = xmark;
            s->lexact.len = lmark;
            if (s->sql.p != NULL)
                s->sql.p[mark] = 0;
            return RP_STMT_FULL;
        }
        {
            char kt[200];
            rp__key_text(kt, sizeof(kt), &ent->rec.key);
            tg_fail(e, TG_E_DATA, 1153, "seq %llu table %s key (%s): the row "
                    "is %zu bytes as SQL, over the server's "
                    "max_allowed_packet (%zu bytes with room for the "
                    "statement): raise max_allowed_packet on the server "
                    "(SET GLOBAL max_allowed_packet = ...; and in its "
                    "configuration file), then replay goes on",
                    (unsigned long long)ent->seq, ent->rec.table, kt,
                    s->sql.len + s->exact.len - mark, limit);
        }
        goto undo;
    }
    if (key != NULL && keys_add(s, key) != 0)
        return tg_fail(e, TG_E_FATAL, 0, "out of memory");
    for (int k = 0; k < nalt; k++)
        rp__rounds_note(rounds, t->name, r->names[alt[k]], ent->seq,
                        &r->vals[alt[k]]);
    s->nrows++;
    return 0;
undo:
    s->sql.len = mark;
    s->exact.len = xmark;
    s->lexact.len = lmark;
    if (s->sql.p != NULL)
        s->sql.p[mark] = 0;
    return -1;
}

/* The column a server error names: "... for column `db`.`t`.`qty` ..." or
** "... for column 'qty' ...". Empty if none. */
static const char *server_column(const char *msg, char *col, size_t cap)
{
    const char *p = strstr(msg, "for column ");
    size_t n = 0;

    col[0] = 0;
    if (p == NULL)
        return col;
    p += 11;
    if (*p == '\'') {
        const char *end = strchr(p + 1, '\'');
        if (end != NULL)
            n = (size_t)(end - p - 1), p++;
    } else if (*p == '`') {
        const char *last = p;
        while (*p == '`') {                    /* `db`.`t`.`col` */
            const char *end = strchr(p + 1, '`');
            if (end == NULL)
                break;
            last = p;
            p = end[1] == '.' ? end + 2 : end + 1;
            n = (size_t)(end - last - 1);
            if (end[1] != '.')
                break;
        }
        p = last + 1;
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(col, p, n);
    col[n] = 0;
    return col;
}

/* The value text of column `name` of the single row, or NULL. */
static const char *value_of(const rp_stmt *s, const char *name)
{
    const char *p = s->first_vals.p, *end = p + s->first_vals.len;

    if (name[0] == 0 || p == NULL)
        return NULL;
    while (p < end) {
        const char *v = p + strlen(p) + 1;
        if (strcasecmp(p, name) == 0)
            return v;
        p = v + strlen(v) + 1;
    }
    return NULL;
}

int rp__stmt_flush(rp_stmt *s, MYSQL *db, jr_err *e)
{
    int ret = 0;

    if (s->nrows == 0) {
        rp__stmt_reset(s);
        return 0;
    }
    if (s->op == RP_OP_PUT && !s->replace) {
        const char *first = NULL;
        tg_str_adds(&s->sql, " ON DUPLICATE KEY UPDATE ");
        for (uint32_t i = 0; s->guard && i < s->rown; i++)
            if ((s->keycol[i] == 1 || s->keycol[i] == 2) &&
                s->rowmap[i] >= 0) {
                first = s->rownames[i];
                break;
            }
        if (first != NULL) {
            /* the merge guard, evaluated before any column changes */
            int n = 0;
            tg_str_ident(&s->sql, first);
            tg_str_adds(&s->sql, " = IF(");
            for (uint32_t i = 0; i < s->rown; i++) {
                if (!s->keycol[i] || s->rowmap[i] < 0)
                    continue;
                if (n++)
                    tg_str_adds(&s->sql, " AND ");
                if (s->keycol[i] == 3) {
                    /* the source key that wrote the row (rp_aug.c) */
                    tg_str_adds(&s->sql, "(`" TG_LEDGER_COL "` IS NULL OR `"
                                TG_LEDGER_COL "` = VALUES(`" TG_LEDGER_COL
                                "`))");
                    continue;
                }
                if (s->keycol[i] == 2)
                    tg_str_adds(&s->sql, "BINARY ");
                tg_str_ident(&s->sql, s->rownames[i]);
                tg_str_adds(&s->sql, s->keycol[i] == 2 ? " <=> BINARY VALUES("
                                                       : " <=> VALUES(");
                tg_str_ident(&s->sql, s->rownames[i]);
                tg_str_adds(&s->sql, ")");
            }
            tg_str_adds(&s->sql, ", VALUES(");
            tg_str_ident(&s->sql, first);
            tg_str_adds(&s->sql, "), IF((@sluice_merge := @sluice_merge + "
                                 "1) > 0, ");
            tg_str_ident(&s->sql, first);
            tg_str_adds(&s->sql, ", ");
            tg_str_ident(&s->sql, first);
            tg_str_adds(&s->sql, "))");
        }
        for (uint32_t i = 0, n = first != NULL; i < s->ncols; i++) {
            if (first != NULL && strcmp(s->colnames[i], first) == 0)
                continue;
            if (n++)
                tg_str_adds(&s->sql, ", ");
            if (first != NULL && is_ledger(s->colnames[i])) {
                /* equal unless the guard counted a merge: then it keeps
                ** naming the key that wrote the row */
                tg_str_adds(&s->sql, "`" TG_LEDGER_COL "` = IFNULL(`"
                            TG_LEDGER_COL "`, VALUES(`" TG_LEDGER_COL
                            "`))");
                continue;
            }
            tg_str_ident(&s->sql, s->colnames[i]);
            tg_str_adds(&s->sql, " = VALUES(");
            tg_str_ident(&s->sql, s->colnames[i]);
            tg_str_adds(&s->sql, ")");
        }
    } else if (s->op == RP_OP_DEL) {
        if (s->exact_del && s->exact.p != NULL)   /* ") AND (..) IN (.." */
            tg_str_add(&s->sql, s->exact.p, s->exact.len);
        tg_str_adds(&s->sql, ")");
        if (s->ledger_del && s->lexact.p != NULL) {
            tg_str_add(&s->sql, s->lexact.p, s->lexact.len);
            tg_str_adds(&s->sql, "))");
        }
    }
    if (s->sql.oom) {
        ret = tg_fail(e, TG_E_FATAL, 0, "out of memory");
    } else if (mysql_real_query(db, s->sql.p, (unsigned long)s->sql.len)) {
        char *m, col[128];
        const char *val = NULL;
        tg_fail_mysql(e, db, "applying changes");
        m = strdup(e->msg);
        e->msg[0] = 0;
        if (s->nrows == 1 && s->first_key[0] &&
            (val = value_of(s, server_column(m ? m : "", col,
                                             sizeof(col)))) != NULL)
            snprintf(e->msg, sizeof(e->msg), "seq %llu table %s key (%s) "
                     "column %s value %s: %s",
                     (unsigned long long)s->first_seq, s->table,
                     s->first_key, col, val, m ? m : "");
        else if (s->nrows == 1 && s->first_key[0])
            snprintf(e->msg, sizeof(e->msg), "seq %llu table %s key (%s): "
                     "%s", (unsigned long long)s->first_seq, s->table,
                     s->first_key, m ? m : "");
        else
            snprintf(e->msg, sizeof(e->msg), "%s; table %s, seq %llu%s",
                     m ? m : "", s->table, (unsigned long long)s->first_seq,
                     s->nrows > 1 ? " and following (batched)" : "");
        free(m);
        ret = -1;
    }
    rp__stmt_reset(s);
    return ret;
}
