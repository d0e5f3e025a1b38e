/*
** cap_reconcile.c -- bring the installations in line with the source's
** schema (run at start and whenever PRAGMA schema_version moves).
**
** Inside one BEGIN IMMEDIATE (so no DDL can interleave):
**   for each ACTIVE installation A of table name N:
**     triggers gone, or moved to another name (RENAME TABLE), or the
**     table's definition differs from A's, or A is keyless (a VACUUM may
**     have renumbered rowids): retire A. It becomes DROPPED when no table
**     named N exists any more (the journal gets a DROP N), else RETIRED
**     (a new installation re-snapshots N, which replaces its content).
**   for each wanted table without an ACTIVE installation: install one.
**     The drain pass sees it has no snapshot yet and journals
**     SCHEMA + SNAPSHOT in the same group as everything else pending.
** While paused (_sluice_meta.paused = 1) nothing is changed.
**
** INVARIANTS:
**  (X1) after a successful reconcile every wanted, capturable table has
**       exactly one ACTIVE installation whose triggers are attached to it.
**  (X2) st->schema_version is read inside the same write transaction, after
**       our own DDL, so a concurrent schema change is never missed.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap_run.h"

static int name_in(const cap_namelist *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0)
            return 1;
    return 0;
}

static int table_exists(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st;
    int found = 0;

    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE type = "
                           "'table' AND name = ?1", -1, &st, NULL) != 0)
        return 1;                       /* fail safe: no DROP */
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

/* Decide the fate of one ACTIVE installation. */
static int check_active(cap_state *st, const cap_inst *a, jr_err *err)
{
    sqlite3 *db = st->db;
    char *cur = cap_trigger_table(db, a->id);
    cap_table *t = NULL;
    int retire = 0, ret = JR_OK, rc;

    if (cur == NULL || strcmp(cur, a->name) != 0) {
        retire = 1;
    } else if (a->keyless && st->schema_moved) {
        retire = 1;                     /* rowids may have been renumbered */
    } else {
        rc = cap_table_load(db, a->name, &t, err);
        if (rc == JR_OK)
            retire = strcmp(t->schema_json, a->schema_json) != 0;
        else if (rc == JR_ENOTFOUND)
            retire = 1;
        else
            ret = rc;
        cap_table_free(t);
    }
    sqlite3_free(cur);
    if (ret != JR_OK || !retire)
        return ret;
    rc = table_exists(db, a->name) ? CAP_RETIRED : CAP_DROPPED;
    SL_LOG(SL_INFO, "capture.table_changed", "table=%s install_id=%lld "
           "action=%s", cap_logq(st, a->name), (long long)a->id,
           rc == CAP_DROPPED ? "drop" : "resnapshot");
    return cap_retire(db, a->id, rc, err);
}

static int install_missing(cap_state *st, const cap_namelist *want,
                           jr_err *err)
{
    cap_registry reg;
    int ret = cap_registry_load(st->db, &reg, err);

    for (int i = 0; ret == JR_OK && i < want->n; i++) {
        const char *name = want->names[i];
        cap_table *t = NULL;
        int64_t id;
        int have = 0;

        for (int k = 0; k < reg.n; k++)
            if (reg.v[k].state == CAP_ACTIVE &&
                strcmp(reg.v[k].name, name) == 0)
                have = 1;
        if (have)
            continue;
        ret = cap_table_load(st->db, name, &t, err);
        if (ret == JR_ERR) {
            /* not capturable (e.g. rowid hidden): warn once, go on */
            if (!name_in(&st->warned, name)) {
                SL_LOG(SL_WARN, "capture.table_skipped", "table=%s "
                       "reason=%s", cap_logq(st, name),
                       cap_logq2(st, err->msg));
                cap_namelist_add(&st->warned, name);
            }
            jr_err_clear(err);
            ret = JR_OK;
            continue;
        }
        if (ret == JR_ENOTFOUND) {
            ret = JR_OK;
            continue;
        }
        if (ret == JR_OK)
            ret = cap_install(st->db, t, &id, err);
        if (ret == JR_OK)
            SL_LOG(SL_INFO, "capture.table_installed", "table=%s "
                   "install_id=%lld columns=%d key=%s", cap_logq(st, name),
                   (long long)id, t->ncols, t->nkey ? "primary" : "rowid");
        cap_table_free(t);
    }
    cap_registry_free(&reg);
    return ret;
}

static int read_schema_version(sqlite3 *db, int64_t *v, jr_err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "PRAGMA schema_version", -1, &st, NULL);

    if (rc != SQLITE_OK)
        return cap_sqlite_fail(err, db, "PRAGMA schema_version");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? JR_OK
                            : cap_sqlite_fail(err, db, "PRAGMA "
                                              "schema_version");
}

int cap_schema_version(cap_state *st, int64_t *v, jr_err *err)
{
    return read_schema_version(st->db, v, err);
}

int cap_reconcile(cap_state *st, jr_err *err)
{
    cap_namelist want = { 0 }, skipped = { 0 };
    cap_registry reg = { 0 };
    char paused[8];
    int ret;

    if ((ret = cap_begin_write(st->db, err)) != JR_OK)
        return ret;
    ret = cap_meta_get(st->db, "paused", paused, sizeof(paused), err);
    if (ret == JR_ENOTFOUND) {
        paused[0] = 0;
        ret = JR_OK;
    }
    if (ret != JR_OK)
        goto fail;
    st->paused = strcmp(paused, "1") == 0;
    if (st->paused) {
        if (!st->paused_logged)
            SL_LOG(SL_WARN, "capture.paused", "source=%s hint=%s",
                   cap_logq(st, st->cfg.source),
                   "run sluice-capture --resume when the migration is done");
        st->paused_logged = 1;
        goto done;
    }
    if (st->paused_logged)
        SL_LOG(SL_INFO, "capture.resumed", "source=%s",
               cap_logq(st, st->cfg.source));
    st->paused_logged = 0;
    {
        /* did the schema move since the last reconcile (even while capture
        ** was down)? keyless tables are re-snapshotted when it did */
        char buf[32];
        int64_t now;
        if ((ret = read_schema_version(st->db, &now, err)) != JR_OK)
            goto fail;
        ret = cap_meta_get(st->db, "schema_version", buf, sizeof(buf), err);
        if (ret != JR_OK && ret != JR_ENOTFOUND)
            goto fail;
        st->schema_moved = ret == JR_ENOTFOUND ||
                           strtoll(buf, NULL, 10) != now;
        ret = JR_OK;
    }
    if ((ret = cap_list_tables(st->db, &st->cfg, &want, &skipped, err)) ||
        (ret = cap_registry_load(st->db, &reg, err)))
        goto fail;
    {
        /* one warning naming every newly seen virtual/shadow table */
        char list[400];
        size_t n = 0;
        list[0] = 0;
        for (int i = 0; i < skipped.n; i++)
            if (!name_in(&st->warned, skipped.names[i])) {
                n += (size_t)snprintf(list + n, n < sizeof(list)
                                      ? sizeof(list) - n : 0, "%s%s",
                                      n ? "," : "", skipped.names[i]);
                if (n >= sizeof(list))
                    n = sizeof(list) - 1;
                cap_namelist_add(&st->warned, skipped.names[i]);
            }
        if (list[0])
            SL_LOG(SL_WARN, "capture.tables_skipped", "tables=%s reason=%s",
                   cap_logq(st, list),
                   "\"virtual tables and their shadow tables are not "
                   "captured: their content is derived from other "
                   "tables\"");
    }
    for (int i = 0; ret == JR_OK && i < reg.n; i++)
        if (reg.v[i].state == CAP_ACTIVE)
            ret = check_active(st, &reg.v[i], err);
    if (ret == JR_OK)
        ret = install_missing(st, &want, err);
    if (ret != JR_OK)
        goto fail;
done:
    if ((ret = read_schema_version(st->db, &st->schema_version, err)))
        goto fail;
    {
        char buf[32];
        snprintf(buf, sizeof(buf), "%lld", (long long)st->schema_version);
        if ((ret = cap_meta_set(st->db, "schema_version", buf, err)) ||
            (ret = cap_commit(st->db, err)))
            goto fail;
    }
    st->have_schema_version = 1;
    cap_namelist_free(&want);
    cap_namelist_free(&skipped);
    cap_registry_free(&reg);
    return JR_OK;
fail:
    cap_rollback(st->db);
    cap_namelist_free(&want);
    cap_namelist_free(&skipped);
    cap_registry_free(&reg);
    return ret;
}
