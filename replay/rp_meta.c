/*
** rp_meta.c -- replay's bookkeeping tables in the target database:
**
**   sqlite_sluice_position  replica -> journal uuid, applied seq (written
**                           in the same transaction as each group)
**   sqlite_sluice_rejects   changes --on-error=skip left out: seq, table,
**                           key, the reason, the row image (JSON)
**   sqlite_sluice_tables    tables replay created, with the schema record
**                           they were made from
**
** The names start with sqlite_, a prefix SQLite reserves for itself: no
** source table can ever be called that, so an application table can
** never collide with replay's own (rp_names.c refuses a --map into it).
** Versions before 0.2 used sluice_position, sluice_rejects and
** sluice_tables, which an application table could be named: such a
** table is renamed into the new namespace once, at connect, and only when
** its columns are exactly the old bookkeeping table's (an application
** table that happens to have the name is left alone).
**
** INVARIANTS:
**  (M1) the position row is only written inside the group's transaction,
**       as a compare-and-set on the seq the group started from: two
**       replays with one --replica name cannot both apply a group.
**  (M2) a reject row always fits: its text is escaped to valid UTF-8,
**       its row image is JSON with non-text bytes as hex, and values are
**       cut until the statement is under max_allowed_packet.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mysqld_error.h>

#include "rp.h"
#include "sl_log.h"

static const struct legacy {
    const char *old, *new_name, *columns;
} g_legacy[] = {
    { "sluice_position", TG_POSITION_TABLE,
      "replica,journal_uuid,seq,updated_at" },
    { "sluice_rejects", TG_REJECTS_TABLE,
      "id,replica,seq,table_name,row_key,error,row_json,created_at" },
    { "sluice_tables", TG_TABLES_TABLE, "table_name,schema_json" },
};

/* One query for all six names: "table\tcol1,col2,...\n" per table. */
static int columns_of_all(MYSQL *db, tg_str *out, jr_err *e)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    tg_str s = { 0 };

    tg_str_adds(&s, "SELECT TABLE_NAME, GROUP_CONCAT(COLUMN_NAME ORDER BY "
                    "ORDINAL_POSITION SEPARATOR ',') FROM information_schema."
                    "COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME "
                    "IN (");
    for (size_t i = 0; i < sizeof(g_legacy) / sizeof(g_legacy[0]); i++) {
        tg_str_addf(&s, "%s'%s', '%s'", i ? ", " : "", g_legacy[i].old,
                    g_legacy[i].new_name);
    }
    tg_str_adds(&s, ") GROUP BY TABLE_NAME");
    if (s.oom || mysql_real_query(db, s.p, (unsigned long)s.len) != 0 ||
        (r = mysql_store_result(db)) == NULL) {
        tg_str_free(&s);
        return tg_fail_mysql(e, db, "reading information_schema");
    }
    tg_str_free(&s);
    while ((row = mysql_fetch_row(r)) != NULL) {
        tg_str_addf(out, "%s\t%s\n", row[0], row[1] ? row[1] : "");
    }
    mysql_free_result(r);
    return out->oom ? tg_fail(e, TG_E_FATAL, 0, "out of memory") : 0;
}

/* Columns of `table` in the columns_of_all() text ("" if absent). */
static const char *columns_in(const tg_str *all, const char *table,
                              char *buf, size_t cap)
{
    size_t n = strlen(table);

    buf[0] = 0;
    for (const char *p = all->p; p != NULL && *p;) {
        const char *nl = strchr(p, '\n');
        if (strncmp(p, table, n) == 0 && p[n] == '\t') {
            size_t l = (size_t)((nl ? nl : p + strlen(p)) - (p + n + 1));
            snprintf(buf, cap, "%.*s", (int)l, p + n + 1);
            break;
        }
        p = nl ? nl + 1 : NULL;
    }
    return buf;
}

static int migrate(MYSQL *db, jr_err *e)
{
    char cols[400], now[400];
    tg_str all = { 0 };

    if (columns_of_all(db, &all, e) != 0) {
        tg_str_free(&all);
        return -1;
    }
    for (size_t i = 0; i < sizeof(g_legacy) / sizeof(g_legacy[0]); i++) {
        const struct legacy *l = &g_legacy[i];
        tg_str s = { 0 };
        int ret;

        columns_in(&all, l->new_name, now, sizeof(now));
        columns_in(&all, l->old, cols, sizeof(cols));
        if (now[0] != 0 || strcmp(cols, l->columns) != 0)
            continue;             /* done already, or not ours */
        tg_str_adds(&s, "RENAME TABLE ");
        tg_str_ident(&s, l->old);
        tg_str_adds(&s, " TO ");
        tg_str_ident(&s, l->new_name);
        ret = tg_exec(db, s.p, s.len, e);
        tg_str_free(&s);
        if (ret != 0) {
            tg_str_free(&all);
            return -1;
        }
        SL_LOG(SL_WARN, "replay.migrated", "table=%s new_name=%s "
               "reason=\"replay's bookkeeping tables moved to the "
               "sqlite_sluice_ namespace, which no source table can use\"",
               l->old, l->new_name);
    }
    tg_str_free(&all);
    return 0;
}

int rp__position_init(MYSQL *db, jr_err *e)
{
    static const char sql[] =
        "CREATE TABLE IF NOT EXISTS " TG_POSITION_TABLE " ("
        " replica VARCHAR(64) NOT NULL PRIMARY KEY,"
        " journal_uuid CHAR(36) NOT NULL,"
        " seq BIGINT UNSIGNED NOT NULL,"
        " updated_at DATETIME(6) NOT NULL) ENGINE=InnoDB;"
        "CREATE TABLE IF NOT EXISTS " TG_REJECTS_TABLE " ("
        " id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
        " replica VARCHAR(64) NOT NULL, seq BIGINT UNSIGNED NOT NULL,"
        " table_name TEXT NOT NULL, row_key TEXT NOT NULL,"
        " error TEXT NOT NULL, row_json LONGTEXT,"
        " created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),"
        " KEY (replica, seq)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 "
        " COLLATE=utf8mb4_nopad_bin;"
        "CREATE TABLE IF NOT EXISTS " TG_TABLES_TABLE " ("
        " table_name VARCHAR(255) NOT NULL PRIMARY KEY,"
        " schema_json LONGTEXT NOT NULL) ENGINE=InnoDB "
        " DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin";
    const char *p = sql;

    if (migrate(db, e) != 0)
        return -1;
    /* one statement at a time (no multi-statement flag on the link) */
    while (*p) {
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (mysql_real_query(db, p, (unsigned long)n) != 0)
            return tg_fail_mysql(e, db, "creating " TG_POSITION_TABLE);
        p += n + (end ? 1 : 0);
    }
    if (mysql_commit(db) != 0)
        return tg_fail_mysql(e, db, "creating " TG_POSITION_TABLE);
    return 0;
}

int rp__position_get(MYSQL *db, const char *replica, const char *uuid,
                     uint64_t *seq, jr_err *e)
{
    char have[64];
    int found, ret;

    ret = tg_position_read(db, replica, have, sizeof(have), seq, &found, e);
    if (ret == 0 && found < 0)      /* made at start: someone dropped it */
        ret = tg_fail(e, TG_E_CONFIG, ER_NO_SUCH_TABLE, TG_POSITION_TABLE
                      " disappeared from the target while replay ran: "
                      "restore it from a backup, or replay into a fresh "
                      "database");
    if (ret == 0 && found > 0 && strcmp(have, uuid) != 0) {
        *seq = 0;
        ret = tg_fail(e, TG_E_CONFIG, 0, TG_POSITION_TABLE " says "
                      "replica %s applied journal %s, but this journal "
                      "is %s: refusing to mix journals in one target "
                      "(use another --replica name or target database)",
                      replica, have, uuid);
    }
    mysql_commit(db);            /* end the read's snapshot */
    return ret;
}

/* The position write matched nothing: an upsert of this group landed on
** another source key's row (the merge guard counted it, rp_stmt.c), or
** the position moved under this replay. */
static int not_written(MYSQL *db, jr_err *e, const char *replica)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    long long merged = 0;

    if (mysql_query(db, "SELECT @sluice_merge") != 0 ||
        (r = mysql_store_result(db)) == NULL)
        return tg_fail_mysql(e, db, "checking for merged keys");
    if ((row = mysql_fetch_row(r)) != NULL && row[0] != NULL)
        merged = strtoll(row[0], NULL, 10);
    mysql_free_result(r);
    if (merged > 0) {
        mysql_query(db, "SET @sluice_merge = 0");
        return tg_fail(e, TG_E_DATA, 0, "%lld change(s) of this group would "
                       "land on the row of another source key (the target "
                       "compares distinct source keys as one value); "
                       "finding which", merged);
    }
    return tg_fail(e, TG_E_CONN, 0, "the position of replica %s moved "
                   "under this replay (another sluice-replay with the same "
                   "--replica on this target?): rolled back, re-reading it",
                   replica);
}

int rp__position_set(MYSQL *db, const char *replica, const char *uuid,
                     uint64_t expected, uint64_t seq, jr_err *e)
{
    tg_str s = { 0 };
    int ret = 0;

    /* compare-and-set: only from the position this group started at,
    ** and only when no upsert of the group merged two source keys */
    tg_str_adds(&s, "UPDATE " TG_POSITION_TABLE " SET journal_uuid = ");
    tg_str_quote(&s, db, uuid, strlen(uuid));
    tg_str_addf(&s, ", seq = %llu, updated_at = UTC_TIMESTAMP(6) WHERE "
                "replica = ", (unsigned long long)seq);
    tg_str_quote(&s, db, replica, strlen(replica));
    tg_str_addf(&s, " AND seq = %llu AND @sluice_merge = 0",
                (unsigned long long)expected);
    if (mysql_real_query(db, s.p, (unsigned long)s.len) != 0)
        ret = tg_fail_mysql(e, db, "writing " TG_POSITION_TABLE);
    else if (mysql_affected_rows(db) == 1)
        ret = 0;                          /* CLIENT_FOUND_ROWS: matched */
    else if (expected != 0)
        ret = not_written(db, e, replica);
    else {
        /* the replica's first group on this target */
        s.len = 0;
        tg_str_adds(&s, "INSERT INTO " TG_POSITION_TABLE "(replica, "
                        "journal_uuid, seq, updated_at) SELECT ");
        tg_str_quote(&s, db, replica, strlen(replica));
        tg_str_adds(&s, ", ");
        tg_str_quote(&s, db, uuid, strlen(uuid));
        tg_str_addf(&s, ", %llu, UTC_TIMESTAMP(6) FROM DUAL WHERE "
                    "@sluice_merge = 0", (unsigned long long)seq);
        if (mysql_real_query(db, s.p, (unsigned long)s.len) != 0)
            ret = mysql_errno(db) == ER_DUP_ENTRY
                      ? not_written(db, e, replica)
                      : tg_fail_mysql(e, db, "writing " TG_POSITION_TABLE);
        else if (mysql_affected_rows(db) != 1)
            ret = not_written(db, e, replica);
    }
    tg_str_free(&s);
    return ret;
}

/* Escaped text, cut to `max` bytes on a character boundary, quoted. */
static void quoted_escaped(tg_str *s, MYSQL *db, const char *p, size_t n,
                           size_t max)
{
    tg_str t = { 0 };

    tg_str_escape(&t, p, n);
    if (t.len > max) {
        size_t k = max;
        while (k > 0 && ((unsigned char)t.p[k] & 0xc0) == 0x80)
            k--;
        t.len = k;
    }
    tg_str_quote(s, db, t.p ? t.p : "", t.len);
    tg_str_free(&t);
}

int rp__reject_record(MYSQL *db, const char *replica, const jr_entry *ent,
                      const char *table, const char *why, size_t limit,
                      jr_err *e)
{
    const jr_record *r = &ent->rec;
    const jr_row *img = r->new_row.n ? &r->new_row
                        : r->old_row.n ? &r->old_row : &r->key;
    size_t per_value = 65536;
    char kt[400];
    int ret = -1;

    rp__key_text(kt, sizeof(kt), &r->key);
    for (;;) {
        tg_str s = { 0 };
        tg_str_adds(&s, "INSERT INTO " TG_REJECTS_TABLE "(replica, seq, "
                        "table_name, row_key, error, row_json) VALUES (");
        tg_str_quote(&s, db, replica, strlen(replica));
        tg_str_addf(&s, ", %llu, ", (unsigned long long)ent->seq);
        quoted_escaped(&s, db, table, strlen(table), 1024);
        tg_str_adds(&s, ", ");
        quoted_escaped(&s, db, kt, strlen(kt), 4096);
        tg_str_adds(&s, ", ");
        quoted_escaped(&s, db, why, strlen(why), 8192);
        tg_str_adds(&s, ", ");
        {
            tg_str js = { 0 };
            tg_row_json(&js, img, per_value);
            tg_str_quote(&s, db, js.p ? js.p : "{}", js.len);
            tg_str_free(&js);
        }
        tg_str_adds(&s, ")");
        if (s.oom) {
            tg_str_free(&s);
            return tg_fail(e, TG_E_FATAL, 0, "out of memory");
        }
        if (limit > 0 && s.len > limit && per_value > 16) {
            tg_str_free(&s);
            per_value /= 8;            /* a wide row: cut values more */
            continue;
        }
        if (mysql_real_query(db, s.p, (unsigned long)s.len) != 0)
            tg_fail_mysql(e, db, "recording a reject in " TG_REJECTS_TABLE);
        else
            ret = 0;
        tg_str_free(&s);
        return ret;
    }
}
