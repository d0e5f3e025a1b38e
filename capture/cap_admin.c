/*
** cap_admin.c -- sluice-capture --pause | --resume | --uninstall.
**
** --pause   drops every capture trigger and sets _sluice_meta.paused, so a
**           migration SQLite would refuse while triggers name a column
**           (ALTER TABLE ... DROP COLUMN) can run. Changes made while
**           paused are not logged.
** --resume  clears the flag; the capture process (running, or the next one
**           started) reinstalls triggers and re-snapshots every table,
**           because what changed while paused is unknown.
** --uninstall removes every trigger and table sluice added; the
**           application's tables are untouched. The journal is kept.
** Each runs in one BEGIN IMMEDIATE: all of it happens or none.
*/
#include <stdio.h>
#include <string.h>

#include "cap.h"

static int has_meta(sqlite3 *db)
{
    sqlite3_stmt *s;
    int have = 0;

    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE name = "
                           "'_sluice_meta'", -1, &s, NULL) == SQLITE_OK)
        have = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_finalize(s);
    return have;
}

int cap_admin(const cap_cfg *cfg, jr_err *err)
{
    sqlite3 *db;
    int ret;
    const char *done;

    if ((ret = cap_db_open(&db, cfg->source, (int)cfg->busy_ms, err)))
        return ret;
    if (!has_meta(db) && !cfg->uninstall) {
        sqlite3_close(db);
        return cap_fail(err, "admin", "sluice is not installed in %s "
                        "(no _sluice_meta table): nothing to %s",
                        cfg->source, cfg->pause ? "pause" : "resume");
    }
    if ((ret = cap_begin_write(db, err)) != JR_OK) {
        sqlite3_close(db);
        return ret;
    }
    if (cfg->pause) {
        ret = cap_drop_all_triggers(db, err);
        if (ret == JR_OK)
            ret = cap_meta_set(db, "paused", "1", err);
        done = "paused: capture triggers removed; run the migration, then "
               "sluice-capture --resume";
    } else if (cfg->resume) {
        ret = cap_meta_set(db, "paused", "0", err);
        done = "resumed: sluice-capture reinstalls the triggers and "
               "re-snapshots every table";
    } else {
        ret = cap_uninstall_all(db, err);
        done = "uninstalled: every _sluice trigger and table removed "
               "(the journal directory is left as it is)";
    }
    if (ret == JR_OK)
        ret = cap_commit(db, err);
    else
        cap_rollback(db);
    sqlite3_close(db);
    if (ret == JR_OK)
        printf("sluice-capture: %s: %s\n", cfg->source, done);
    return ret;
}
