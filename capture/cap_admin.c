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
** --uninstall removes exactly the triggers and tables sluice recorded as
**           its own (cap_install.c, I1); the application's objects are
**           untouched whatever their names. The journal is kept.
** Each runs in one gated write transaction (cap_gate.c), waiting up to
** --busy-timeout-ms for a moment without application transactions: all
** of it happens or none, and the application never fails because of it.
**
** INVARIANTS:
**  (A1) every change to the source goes through cap__write (the gate):
**       one transaction, never while another process has one open.
**  (A2) only objects sluice recorded as its own are dropped; the journal
**       is not opened here.
*/
#include <stdio.h>
#include <string.h>

#include "cap.h"

static int pause_fn(sqlite3 *db, void *arg, jr_err *err)
{
    int ret = cap__drop_all_triggers(db, err);
    (void)arg;
    return ret == JR_OK ? cap__meta_set(db, CAP_META_PAUSED, "1", err) : ret;
}

static int resume_fn(sqlite3 *db, void *arg, jr_err *err)
{
    (void)arg;
    return cap__meta_set(db, CAP_META_PAUSED, "0", err);
}

static int uninstall_fn(sqlite3 *db, void *arg, jr_err *err)
{
    (void)arg;
    return cap__uninstall_all(db, err);
}

int cap_admin(const cap_cfg *cfg, jr_err *err)
{
    cap_src src;
    int ret;
    const char *done;
    int (*fn)(sqlite3 *, void *, jr_err *);

    if ((ret = cap_src_open(&src, cfg->source, (int)cfg->busy_ms, err)))
        return ret;
    if (!cap__meta_exists(src.db) && !cfg->uninstall) {
        cap_src_close(&src);
        return cap_fail(err, "admin", "sluice is not installed in %s "
                        "(no _sluice_meta table): nothing to %s",
                        cfg->source, cfg->pause ? "pause" : "resume");
    }
    if (cfg->pause) {
        fn = pause_fn;
        done = "paused: capture triggers removed; run the migration, then "
               "sluice-capture --resume";
    } else if (cfg->resume) {
        fn = resume_fn;
        done = "resumed: sluice-capture reinstalls the triggers and "
               "re-snapshots every table";
    } else {
        fn = uninstall_fn;
        done = "uninstalled: every trigger and table sluice recorded as "
               "its own removed (the journal directory is left as it is)";
    }
    /* the same gate as the capture process: an application beside us
    ** never fails because of an admin command either */
    if ((ret = cap_gate_attach(&src, err)) == JR_OK)
        ret = cap__write(&src, fn, NULL, (int)cfg->busy_ms, NULL, err);
    cap_src_close(&src);
    if (ret == JR_OK)
        printf("sluice-capture: %s: %s\n", cfg->source, done);
    return ret == JR_EAGAIN ? JR_ERR : ret;
}
