/*
** cap_install.c -- the objects capture adds to the source database.
**
** One INSTALLATION = one table captured under one definition. It owns a
** change-log table _sluice_log_<id> and three AFTER triggers. A schema
** change retires the installation and makes a new one (new id, new log),
** so a log's column layout never changes under rows already written.
**
** Log layout for a table with n columns and a k-column key:
**   id INTEGER PRIMARY KEY   log id; never reused (capture never deletes
**                            the newest drained row, so max(id)+1 only
**                            grows) -- cheaper than AUTOINCREMENT, which
**                            costs a second B-tree write per change
**   op INT                   1 insert, 2 update, 3 delete
**   t REAL                   julianday('now') at the change
**   k0..k(k-1)               OLD key (update, delete); keyless tables: the
**                            rowid (NEW for insert)
**   r                        keyless tables only: NEW rowid of an update
**   c0..c(n-1)               NEW image (insert, update)
**   o0..o(n-1)               keyless tables only: OLD image (update, delete)
** Columns k*, r, c*, o* have no declared type (BLOB affinity): SQLite
** stores each value with its own storage class, unchanged -- a BLOB in a
** TEXT column, a 10 MiB text, a REAL with all 17 digits. The trigger body
** is a single INSERT of plain column references: it cannot fail for any
** value the table accepted (no json_*(), no casts).
**
** INVARIANTS:
**  (I1) sluice's objects are exactly: _sluice_meta, _sluice_tables, and
**       for each registered installation N its log _sluice_log_N and its
**       triggers _sluice_N_ins/_upd/_del. Uninstall removes exactly those;
**       an application object whose name merely looks like ours is never
**       touched, and an id whose names are taken is skipped.
**  (I2) installation ids come from the counter _sluice_meta.next_id and
**       are never reused, so a journaled position can never be mistaken
**       for another table's. (Not AUTOINCREMENT: that would leave an
**       sqlite_sequence table behind after --uninstall.)
**  (I3) install/retire run inside the caller's BEGIN IMMEDIATE, together
**       with reading the schema, so no DDL can slip in between.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cap.h"
#include "sl_clock.h"

static const char g_meta_sql[] =
    "CREATE TABLE IF NOT EXISTS _sluice_meta(key TEXT PRIMARY KEY, value);"
    "CREATE TABLE IF NOT EXISTS _sluice_tables("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
    " state INT NOT NULL, cols TEXT NOT NULL, keycols TEXT NOT NULL,"
    " keyless INT NOT NULL, schema TEXT NOT NULL);";

int cap__meta_get(sqlite3 *db, const char *key, char *buf, size_t cap,
                  jr_err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "SELECT value FROM _sluice_meta "
                                "WHERE key = ?1", -1, &st, NULL);

    buf[0] = 0;
    if (rc != SQLITE_OK)
        return cap__sqlite_fail(err, db, "reading _sluice_meta");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
        snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        return JR_ENOTFOUND;
    return rc == SQLITE_ROW ? JR_OK
                            : cap__sqlite_fail(err, db,
                                               "reading _sluice_meta");
}

int cap__meta_set(sqlite3 *db, const char *key, const char *value,
                  jr_err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO _sluice_meta"
                                "(key, value) VALUES (?1, ?2)", -1, &st,
                                NULL);

    if (rc != SQLITE_OK)
        return cap__sqlite_fail(err, db, "writing _sluice_meta");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? JR_OK
                             : cap__sqlite_fail(err, db, "writing "
                                                "_sluice_meta");
}

int cap__meta_exists(sqlite3 *db)
{
    sqlite3_stmt *s;
    int have = 0;

    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE type = "
                           "'table' AND name = '_sluice_meta' COLLATE NOCASE",
                           -1, &s, NULL) == SQLITE_OK)
        have = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_finalize(s);
    return have;
}

/* A table named _sluice_meta that sluice did not make is refused. */
static int meta_is_ours(sqlite3 *db, jr_err *err)
{
    sqlite3_stmt *s;
    int rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM _sluice_meta "
                                "WHERE key IN ('" CAP_META_SOURCE_ID "', '"
                                CAP_META_FORMAT "')", -1,
                                &s, NULL);
    int n = 0;

    if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_OK || n != 2 ||
        sqlite3_prepare_v2(db, "SELECT id, name, state, cols, keycols, "
                           "keyless, schema FROM _sluice_tables LIMIT 0",
                           -1, &s, NULL) != SQLITE_OK) {
        sqlite3_finalize(s);
        return cap_fail(err, "meta", "the source has a table named "
                        "_sluice_meta or _sluice_tables that sluice did not "
                        "create (or a damaged one): rename the application's "
                        "table, or run sluice-capture --uninstall if it is a "
                        "leftover of sluice");
    }
    sqlite3_finalize(s);
    return JR_OK;
}

int cap__meta_init(sqlite3 *db, jr_err *err)
{
    char id[64];
    int ret;

    if (cap__meta_exists(db))
        return meta_is_ours(db, err);
    if ((ret = cap__exec(db, g_meta_sql, err)) != JR_OK)
        return ret;
    ret = cap__meta_get(db, CAP_META_SOURCE_ID, id, sizeof(id), err);
    if (ret != JR_ENOTFOUND)
        return ret;
    if ((ret = cap__exec(db, "INSERT INTO _sluice_meta(key, value) "
                         "SELECT '" CAP_META_SOURCE_ID "', "
                         "lower(hex(randomblob(4))) || "
                         "'-' || lower(hex(randomblob(2))) || '-4' || "
                         "substr(lower(hex(randomblob(2))), 2) || '-' || "
                         "substr('89ab', 1 + (abs(random()) % 4), 1) || "
                         "substr(lower(hex(randomblob(2))), 2) || '-' || "
                         "lower(hex(randomblob(6)))", err)) != JR_OK ||
        (ret = cap__meta_set(db, CAP_META_FORMAT, "1", err)) != JR_OK)
        return ret;
    return JR_OK;
}

/* ---- registry ---- */

void cap__registry_free(cap_registry *r)
{
    for (int i = 0; i < r->n; i++) {
        cap_inst *in = &r->v[i];
        for (int c = 0; c < in->ncols; c++)
            free(in->cols[c]);
        for (int c = 0; c < in->nkey; c++)
            free(in->keycols[c]);
        free(in->cols);
        free(in->keycols);
        free(in->name);
        free(in->schema_json);
        sqlite3_finalize(in->drain);
    }
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

/* Parse a JSON array of strings through SQLite's json_each. */
static int json_names(sqlite3 *db, const char *json, char ***out, int *n,
                      jr_err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "SELECT value FROM json_each(?1)", -1,
                                &st, NULL);
    int cnt = 0, cap = 0;
    char **v = NULL;

    *out = NULL;
    *n = 0;
    if (rc != SQLITE_OK)
        return cap__sqlite_fail(err, db, "json_each");
    sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (cnt == cap) {
            char **p;
            cap = cap ? cap * 2 : 16;
            p = realloc(v, (size_t)cap * sizeof(*p));
            if (p == NULL)
                break;
            v = p;
        }
        v[cnt] = strdup((const char *)sqlite3_column_text(st, 0));
        if (v[cnt] == NULL)
            break;
        cnt++;
    }
    sqlite3_finalize(st);
    *out = v;
    *n = cnt;
    if (rc != SQLITE_DONE)
        return cap_fail(err, "registry", "cannot read column list %s",
                        json);
    return JR_OK;
}

int cap__registry_load(sqlite3 *db, cap_registry *r, jr_err *err)
{
    sqlite3_stmt *st;
    int rc, ret = JR_OK;

    memset(r, 0, sizeof(*r));
    rc = sqlite3_prepare_v2(db, "SELECT id, name, state, cols, keycols, "
                            "keyless, schema FROM _sluice_tables ORDER BY "
                            "id", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return cap__sqlite_fail(err, db, "reading _sluice_tables");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cap_inst *in, *p = realloc(r->v, (size_t)(r->n + 1) * sizeof(*p));
        if (p == NULL) {
            ret = cap_fail(err, "malloc", "out of memory");
            break;
        }
        r->v = p;
        in = &r->v[r->n++];
        memset(in, 0, sizeof(*in));
        in->id = sqlite3_column_int64(st, 0);
        in->name = strdup((const char *)sqlite3_column_text(st, 1));
        in->state = sqlite3_column_int(st, 2);
        in->keyless = sqlite3_column_int(st, 5);
        in->schema_json = strdup((const char *)sqlite3_column_text(st, 6));
        if ((ret = json_names(db, (const char *)sqlite3_column_text(st, 3),
                              &in->cols, &in->ncols, err)) != JR_OK ||
            (ret = json_names(db, (const char *)sqlite3_column_text(st, 4),
                              &in->keycols, &in->nkey, err)) != JR_OK)
            break;
        if (in->name == NULL || in->schema_json == NULL) {
            ret = cap_fail(err, "malloc", "out of memory");
            break;
        }
    }
    sqlite3_finalize(st);
    if (ret == JR_OK && rc != SQLITE_DONE)
        ret = cap__sqlite_fail(err, db, "reading _sluice_tables");
    if (ret != JR_OK)
        cap__registry_free(r);
    return ret;
}

static int64_t parse_name(const char *name, const char *prefix,
                          const char *suffix);

static void measure(sqlite3_stmt *s, cap_inst *in)
{
    char name[48];

    in->small = 0;
    in->room = 0;
    in->recheck = 0;
    snprintf(name, sizeof(name), "_sluice_log_%lld", (long long)in->id);
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL &&
        strcmp((const char *)sqlite3_column_text(s, 0), "leaf") == 0) {
        /* cells added while their sizes stay under what the page has
        ** free cannot split it (cap_drain.c counts them) */
        in->room = sqlite3_column_int64(s, 1) - 64;
        in->small = in->room > 0;
    }
    sqlite3_reset(s);
}

/* The root page: a log whose root is a leaf is one page (overflow pages
** aside: every insert still writes the root), with `unused` bytes free.
** dbstat scans sqlite_schema for the name: about a millisecond a query
** with a thousand tables, so logs are measured a few at a time. */
static const char g_measure_sql[] =
    "SELECT pagetype, unused FROM dbstat WHERE name = ?1 AND path = '/'";

int cap__registry_measure(sqlite3 *db, cap_registry *r, int budget_us,
                          int *left)
{
    sqlite3_stmt *s;
    int64_t t0;
    int n = 0, i;

    *left = 0;
    if (sqlite3_prepare_v2(db, g_measure_sql, -1, &s, NULL) != SQLITE_OK) {
        sqlite3_finalize(s);
        return 0;                       /* no dbstat: every log is read */
    }
    t0 = sl_mono_us();
    for (i = 0; i < r->n; i++) {
        if (!r->v[i].recheck || r->v[i].state != CAP_ACTIVE)
            continue;
        measure(s, &r->v[i]);
        n++;
        if (sl_mono_us() - t0 > budget_us)
            break;
    }
    for (i++; i < r->n; i++)
        *left += r->v[i].recheck && r->v[i].state == CAP_ACTIVE;
    sqlite3_finalize(s);
    return n;
}

void cap__registry_keep_measures(cap_registry *r, const cap_registry *old)
{
    for (int i = 0; i < r->n; i++) {
        cap_inst *in = &r->v[i];
        const cap_inst *o = cap__registry_find((cap_registry *)old, in->id);
        /* the same log on the same root page, measured one page: what
        ** was measured and counted down since still holds (drains keep
        ** counting); a larger log is measured again, it may have shrunk */
        if (o != NULL && !o->recheck && o->small && o->root == in->root &&
            in->root != 0 && o->state == in->state) {
            in->small = o->small;
            in->room = o->room;
            in->recheck = 0;
        }
    }
}

int cap__registry_pages(sqlite3 *db, cap_registry *r, jr_err *err)
{
    sqlite3_stmt *s;
    int rc;

    rc = sqlite3_prepare_v2(db, "SELECT name, rootpage FROM sqlite_schema "
                            "WHERE type = 'table' AND name LIKE "
                            "'\\_sluice\\_log\\_%' ESCAPE '\\'", -1, &s,
                            NULL);
    if (rc != SQLITE_OK)
        return cap__sqlite_fail(err, db, "reading schema");
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t id = parse_name((const char *)sqlite3_column_text(s, 0),
                                "_sluice_log_", "");
        cap_inst *in = id ? cap__registry_find(r, id) : NULL;
        if (in != NULL)
            in->root = (uint32_t)sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return cap__sqlite_fail(err, db, "reading schema");
    /* measured a few at a time (cap__registry_measure): until then a log
    ** counts as large and is read every pass */
    for (int i = 0; i < r->n; i++)
        r->v[i].recheck = r->v[i].state == CAP_ACTIVE;
    return JR_OK;
}

cap_inst *cap__registry_find(cap_registry *r, int64_t id)
{
    int lo = 0, hi = r->n - 1;          /* loaded ORDER BY id */

    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (r->v[mid].id == id)
            return &r->v[mid];
        if (r->v[mid].id < id)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

/* "<prefix><digits><suffix>" without regard to ASCII case: the id. */
static int64_t parse_name(const char *name, const char *prefix,
                          const char *suffix)
{
    size_t np = strlen(prefix), ns = strlen(suffix), n = strlen(name), d;
    int64_t id = 0;

    if (n <= np + ns || sqlite3_strnicmp(name, prefix, (int)np) != 0 ||
        sqlite3_stricmp(name + n - ns, suffix) != 0)
        return 0;
    for (d = np; d < n - ns; d++) {
        if (name[d] < '0' || name[d] > '9' || id > INT64_MAX / 10 - 9)
            return 0;
        id = id * 10 + (name[d] - '0');
    }
    return name[np] == '0' ? 0 : id;
}

int cap__is_ours(const cap_registry *r, const char *name)
{
    static const char *const trig[] = { "_ins", "_upd", "_del" };
    int64_t id;

    if (sqlite3_stricmp(name, "_sluice_meta") == 0 ||
        sqlite3_stricmp(name, "_sluice_tables") == 0)
        return 1;
    if (r == NULL)
        return 0;
    if ((id = parse_name(name, "_sluice_log_", "")) > 0)
        return cap__registry_find((cap_registry *)r, id) != NULL;
    for (int i = 0; i < 3; i++)
        if ((id = parse_name(name, "_sluice_", trig[i])) > 0)
            return cap__registry_find((cap_registry *)r, id) != NULL;
    return 0;
}

int cap__taken_names(sqlite3 *db, cap_namelist *out, jr_err *err)
{
    sqlite3_stmt *s;
    int rc;

    memset(out, 0, sizeof(*out));
    if (sqlite3_prepare_v2(db, "SELECT lower(name) FROM sqlite_schema WHERE "
                           "name LIKE '\\_sluice%' ESCAPE '\\' ORDER BY 1",
                           -1, &s, NULL) != SQLITE_OK)
        return cap__sqlite_fail(err, db, "reading schema");
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (cap__namelist_add(out, (const char *)sqlite3_column_text(s, 0))) {
            sqlite3_finalize(s);
            cap__namelist_free(out);
            return cap_fail(err, "malloc", "out of memory");
        }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? JR_OK
                             : cap__sqlite_fail(err, db, "reading schema");
}

static int taken(const cap_namelist *l, const char *name)
{
    int lo = 0, hi = l->n - 1;

    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(l->names[mid], name);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return 0;
}

/* Is any of the names installation `id` would use taken (I1)? */
static int id_taken(const cap_namelist *names, int64_t id)
{
    static const char *const fmt[] = { "_sluice_log_%lld",
                                       "_sluice_%lld_ins",
                                       "_sluice_%lld_upd",
                                       "_sluice_%lld_del" };
    for (int i = 0; i < 4; i++) {
        char n[48];
        snprintf(n, sizeof(n), fmt[i], (long long)id);
        if (taken(names, n))
            return 1;
    }
    return 0;
}

/* ---- installing ---- */

static int register_inst(sqlite3 *db, const cap_table *t,
                         const cap_namelist *names, int64_t *id, jr_err *err)
{
    sqlite3_stmt *st;
    sqlite3_str *keys = sqlite3_str_new(db);
    char *keyjson;
    int rc;

    /* key column names as a JSON array, built by SQLite for escaping */
    sqlite3_str_appendall(keys, "SELECT json_array(");
    for (int i = 0; i < (t->nkey ? t->nkey : 1); i++)
        sqlite3_str_appendf(keys, "%s?%d", i ? "," : "", i + 3);
    sqlite3_str_appendall(keys, ")");
    keyjson = sqlite3_str_finish(keys);
    rc = sqlite3_prepare_v2(db, keyjson, -1, &st, NULL);
    sqlite3_free(keyjson);
    if (rc != SQLITE_OK)
        return cap__sqlite_fail(err, db, "registering table");
    for (int i = 0; i < (t->nkey ? t->nkey : 1); i++)
        sqlite3_bind_text(st, i + 3, t->nkey ? t->cols[t->key[i]].name
                                             : t->rowid_name, -1,
                          SQLITE_STATIC);
    rc = sqlite3_step(st);
    keyjson = rc == SQLITE_ROW
                  ? sqlite3_mprintf("%s", sqlite3_column_text(st, 0))
                  : NULL;
    sqlite3_finalize(st);
    if (keyjson == NULL)
        return cap__sqlite_fail(err, db, "registering table");
    {
        char buf[32];
        long long next = 1;
        int r = cap__meta_get(db, CAP_META_NEXT_ID, buf, sizeof(buf), err);
        if (r == JR_OK)
            next = strtoll(buf, NULL, 10);
        else if (r != JR_ENOTFOUND) {
            sqlite3_free(keyjson);
            return r;
        }
        while (id_taken(names, next))       /* I1: never collide */
            next++;
        *id = next;
        snprintf(buf, sizeof(buf), "%lld", next + 1);
        if ((r = cap__meta_set(db, CAP_META_NEXT_ID, buf, err)) != JR_OK) {
            sqlite3_free(keyjson);
            return r;
        }
    }
    rc = sqlite3_prepare_v2(db,
        "INSERT INTO _sluice_tables(id, name, state, cols, keycols, "
        "keyless, schema) VALUES (?5, ?1, 0, (SELECT json_group_array(name) "
        "FROM (SELECT name FROM pragma_table_xinfo(?1) WHERE hidden != 1 "
        "ORDER BY cid)), ?2, ?3, ?4)", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_free(keyjson);
        return cap__sqlite_fail(err, db, "registering table");
    }
    sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, keyjson, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, t->nkey == 0);
    sqlite3_bind_text(st, 4, t->schema_json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, *id);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    sqlite3_free(keyjson);
    if (rc != SQLITE_DONE)
        return cap__sqlite_fail(err, db, "registering table");
    return JR_OK;
}

/* NEW."a", NEW."b", ... (or OLD.) */
static void refs(sqlite3_str *s, const cap_table *t, const char *which)
{
    for (int i = 0; i < t->ncols; i++)
        sqlite3_str_appendf(s, ", %s.\"%w\"", which, t->cols[i].name);
}

static void names(sqlite3_str *s, char prefix, int n)
{
    for (int i = 0; i < n; i++)
        sqlite3_str_appendf(s, ", %c%d", prefix, i);
}

static void keyrefs(sqlite3_str *s, const cap_table *t, const char *which)
{
    if (t->nkey == 0)
        sqlite3_str_appendf(s, ", %s.%s", which, t->rowid_name);
    for (int i = 0; i < t->nkey; i++)
        sqlite3_str_appendf(s, ", %s.\"%w\"", which,
                            t->cols[t->key[i]].name);
}

/* "CREATE TRIGGER _sluice_<id>_<suffix> AFTER <event> ON <table> BEGIN
** INSERT INTO _sluice_log_<id>(op, t" -- the rest is the caller's. */
static void trigger_head(sqlite3_str *s, int64_t id, const char *suffix,
                         const char *event, const char *table)
{
    sqlite3_str_appendf(s, "CREATE TRIGGER \"_sluice_%lld_%s\" AFTER %s ON "
                        "\"%w\" BEGIN INSERT INTO \"_sluice_log_%lld\"(op, "
                        "t", (long long)id, suffix, event, table,
                        (long long)id);
}

static char *install_sql(sqlite3 *db, const cap_table *t, int64_t id)
{
    sqlite3_str *s = sqlite3_str_new(db);
    int nk = t->nkey ? t->nkey : 1, kl = t->nkey == 0;
    const char *jd = "julianday('now')";

    sqlite3_str_appendf(s, "CREATE TABLE \"_sluice_log_%lld\"(id INTEGER "
                        "PRIMARY KEY, op INT, t REAL", (long long)id);
    names(s, 'k', nk);
    if (kl)
        sqlite3_str_appendall(s, ", r");
    names(s, 'c', t->ncols);
    if (kl)
        names(s, 'o', t->ncols);
    sqlite3_str_appendall(s, ");\n");

    /* insert: NEW image (keyless: and its rowid as k0) */
    trigger_head(s, id, "ins", "INSERT", t->name);
    if (kl)
        sqlite3_str_appendall(s, ", k0");
    names(s, 'c', t->ncols);
    sqlite3_str_appendf(s, ") VALUES (1, %s", jd);
    if (kl)
        keyrefs(s, t, "NEW");
    refs(s, t, "NEW");
    sqlite3_str_appendall(s, "); END;\n");

    /* update: OLD key, NEW image (keyless: NEW rowid, OLD image) */
    trigger_head(s, id, "upd", "UPDATE", t->name);
    names(s, 'k', nk);
    if (kl)
        sqlite3_str_appendall(s, ", r");
    names(s, 'c', t->ncols);
    if (kl)
        names(s, 'o', t->ncols);
    sqlite3_str_appendf(s, ") VALUES (2, %s", jd);
    keyrefs(s, t, "OLD");
    if (kl)
        sqlite3_str_appendf(s, ", NEW.%s", t->rowid_name);
    refs(s, t, "NEW");
    if (kl)
        refs(s, t, "OLD");
    sqlite3_str_appendall(s, "); END;\n");

    /* delete: OLD key (keyless: OLD image) */
    trigger_head(s, id, "del", "DELETE", t->name);
    names(s, 'k', nk);
    if (kl)
        names(s, 'o', t->ncols);
    sqlite3_str_appendf(s, ") VALUES (3, %s", jd);
    keyrefs(s, t, "OLD");
    if (kl)
        refs(s, t, "OLD");
    sqlite3_str_appendall(s, "); END;\n");
    return sqlite3_str_finish(s);
}

int cap__install(sqlite3 *db, const cap_table *t, const cap_namelist *names,
                 int64_t *id, jr_err *err)
{
    char *sql;
    int ret;

    if ((ret = register_inst(db, t, names, id, err)) != JR_OK)
        return ret;
    sql = install_sql(db, t, *id);
    if (sql == NULL)
        return cap_fail(err, "malloc", "out of memory");
    ret = cap__exec(db, sql, err);
    sqlite3_free(sql);
    return ret;
}

static int drop_triggers(sqlite3 *db, int64_t id, jr_err *err)
{
    char *sql = sqlite3_mprintf(
        "DROP TRIGGER IF EXISTS \"_sluice_%lld_ins\";"
        "DROP TRIGGER IF EXISTS \"_sluice_%lld_upd\";"
        "DROP TRIGGER IF EXISTS \"_sluice_%lld_del\";",
        (long long)id, (long long)id, (long long)id);
    int ret;

    if (sql == NULL)
        return cap_fail(err, "malloc", "out of memory");
    ret = cap__exec(db, sql, err);
    sqlite3_free(sql);
    return ret;
}

int cap__retire(sqlite3 *db, int64_t id, int state, jr_err *err)
{
    char *sql;
    int ret;

    if ((ret = drop_triggers(db, id, err)) != JR_OK)
        return ret;
    sql = sqlite3_mprintf("UPDATE _sluice_tables SET state = %d WHERE "
                          "id = %lld", state, (long long)id);
    ret = cap__exec(db, sql, err);
    sqlite3_free(sql);
    return ret;
}

int cap__forget(sqlite3 *db, int64_t id, jr_err *err)
{
    char *sql = sqlite3_mprintf("DROP TABLE IF EXISTS \"_sluice_log_%lld\";"
                                "DELETE FROM _sluice_tables WHERE id = "
                                "%lld;", (long long)id, (long long)id);
    int ret;

    if ((ret = drop_triggers(db, id, err)) != JR_OK) {
        sqlite3_free(sql);
        return ret;
    }
    ret = cap__exec(db, sql, err);
    sqlite3_free(sql);
    return ret;
}

int cap__trigger_tables(sqlite3 *db, const cap_registry *r, char **tables,
                        jr_err *err)
{
    sqlite3_stmt *st;
    int rc;

    for (int i = 0; i < r->n; i++)
        tables[i] = NULL;
    /* one scan of sqlite_schema, however many installations (a lookup
    ** per installation would scan it once each) */
    rc = sqlite3_prepare_v2(db, "SELECT name, tbl_name FROM sqlite_schema "
                            "WHERE type = 'trigger' AND name LIKE "
                            "'\\_sluice\\_%\\_ins' ESCAPE '\\'", -1, &st,
                            NULL);
    if (rc != SQLITE_OK)
        return cap__sqlite_fail(err, db, "listing capture triggers");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = parse_name((const char *)sqlite3_column_text(st, 0),
                                "_sluice_", "_ins");
        cap_inst *in = id ? cap__registry_find((cap_registry *)r, id) : NULL;
        if (in != NULL) {
            int i = (int)(in - r->v);
            sqlite3_free(tables[i]);
            tables[i] = sqlite3_mprintf("%s", sqlite3_column_text(st, 1));
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        for (int i = 0; i < r->n; i++) {
            sqlite3_free(tables[i]);
            tables[i] = NULL;
        }
        return cap__sqlite_fail(err, db, "listing capture triggers");
    }
    return JR_OK;
}

int cap__drop_all_triggers(sqlite3 *db, jr_err *err)
{
    cap_registry reg;
    int ret = cap__registry_load(db, &reg, err);

    for (int i = 0; ret == JR_OK && i < reg.n; i++)
        ret = drop_triggers(db, reg.v[i].id, err);
    cap__registry_free(&reg);
    return ret;
}

int cap__uninstall_all(sqlite3 *db, jr_err *err)
{
    cap_registry reg;
    int ret;

    if (!cap__meta_exists(db))
        return JR_OK;
    if ((ret = meta_is_ours(db, err)) != JR_OK ||
        (ret = cap__registry_load(db, &reg, err)) != JR_OK)
        return ret;
    for (int i = 0; ret == JR_OK && i < reg.n; i++)
        ret = cap__forget(db, reg.v[i].id, err);
    cap__registry_free(&reg);
    if (ret == JR_OK)
        ret = cap__exec(db, "DROP TABLE _sluice_tables; "
                        "DROP TABLE _sluice_meta;", err);
    return ret;
}
