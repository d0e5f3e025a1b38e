/*
** cap_reconcile.c -- bring the installations in line with the source's
** schema (run at start and whenever PRAGMA schema_version moves).
**
** PLAN (reads only):
**   for each ACTIVE installation A of table name N:
**     its triggers are gone, or moved to another name (RENAME TABLE), or
**     the table's definition differs from A's, or A is keyless and the
**     schema moved (a VACUUM may have renumbered rowids), or N is no
**     longer wanted (--tables/--exclude-tables changed): retire A. It
**     becomes DROPPED when no table named N exists or N is no longer
**     wanted (the journal gets a DROP N), else RETIRED (a new
**     installation re-snapshots N, which replaces its content).
**   for each wanted table without an ACTIVE installation: install one.
**     The drain pass sees it has no snapshot yet and journals
**     SCHEMA + SNAPSHOT in the same group as everything else pending.
** APPLY, only when the plan is not empty, in gated write transactions
** (cap_gate.c) of at most INSTALLS_PER_TXN installations and about
** TXN_BUDGET_US each, so the source is never held for long (each CREATE
** costs SQLite a scan of its schema table: thousands of tables make every
** install slower). When the gate says "not now" the plan
** is kept pending and retried on the next step; draining goes on
** meanwhile (cap_drain.c drains only installations whose triggers still
** sit on their table). A reconcile that changes nothing writes nothing:
** the schema version it saw travels in the journal position instead.
** While paused (_sluice_meta.paused = 1) nothing is changed.
**
** INVARIANTS:
**  (X1) after a complete reconcile every wanted, capturable table has
**       exactly one ACTIVE installation whose triggers are attached to it.
**  (X2) st->schema_version is read inside the write transaction, after our
**       own DDL (or in the read transaction of a plan with nothing to do),
**       so a concurrent schema change is never missed.
**  (X3) the write transaction re-checks that the schema version is the one
**       the plan was made for; otherwise it is rolled back and re-planned.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap_run.h"
#include "sl_clock.h"

#define INSTALLS_PER_TXN 64
#define TXN_BUDGET_US    20000   /* the gate holds readers this long, at most
                                    about: stop adding installs past it */

typedef struct plan {
    int64_t sv;                  /* schema version the plan was made for */
    int nretire;
    int64_t *retire_id;
    int *retire_state;
    cap_namelist install;        /* table names */
    int moved;                   /* the schema moved since last time */
    cap_catalog cat;             /* the tables as the plan saw them */
} plan;

static void plan_free(plan *p)
{
    free(p->retire_id);
    free(p->retire_state);
    cap__namelist_free(&p->install);
    cap__catalog_free(&p->cat);
    memset(p, 0, sizeof(*p));
}

int cap__schema_version(sqlite3 *db, int64_t *v, jr_err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "PRAGMA schema_version", -1, &st, NULL);

    if (rc != SQLITE_OK)
        return cap__sqlite_fail(err, db, "PRAGMA schema_version");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? JR_OK
                            : cap__sqlite_fail(err, db, "PRAGMA "
                                               "schema_version");
}

int cap__reload_registry(cap_state *st, jr_err *err)
{
    cap_registry old = st->reg;
    int ret;

    memset(&st->reg, 0, sizeof(st->reg));
    if (!cap__meta_exists(st->src.db))
        ret = cap_fail(err, "registry", "sluice's tables disappeared from "
                       "source %s while capture ran (sluice-capture "
                       "--uninstall?): capture stopped", st->cfg.source);
    else if ((ret = cap__registry_load(st->src.db, &st->reg, err)) ==
                 JR_OK &&
             (ret = cap__registry_pages(st->src.db, &st->reg, err)) == JR_OK)
        cap__registry_keep_measures(&st->reg, &old);
    cap__registry_free(&old);
    return ret;
}

/* Read the paused flag; log the transitions. */
static int read_paused(cap_state *st, jr_err *err)
{
    char paused[8];
    int ret = cap__meta_get(st->src.db, CAP_META_PAUSED, paused,
                            sizeof(paused), err);

    if (ret == JR_ENOTFOUND) {
        paused[0] = 0;
        ret = JR_OK;
    }
    if (ret != JR_OK)
        return ret;
    st->paused = strcmp(paused, "1") == 0;
    if (st->paused && !st->paused_logged)
        SL_LOG(SL_WARN, "capture.paused", "source=%s hint=%s",
               cap__logq(st, st->cfg.source),
               "\"run sluice-capture --resume when the migration is done\"");
    else if (!st->paused && st->paused_logged)
        SL_LOG(SL_INFO, "capture.resumed", "source=%s",
               cap__logq(st, st->cfg.source));
    st->paused_logged = st->paused;
    return JR_OK;
}

static void warn_skipped(cap_state *st, const cap_namelist *skipped)
{
    char list[400];
    size_t n = 0;

    list[0] = 0;
    for (int i = 0; i < skipped->n; i++)
        if (!cap__namelist_has(&st->warned, skipped->names[i])) {
            n += (size_t)snprintf(list + n, n < sizeof(list)
                                  ? sizeof(list) - n : 0, "%s%s",
                                  n ? "," : "", skipped->names[i]);
            if (n >= sizeof(list))
                n = sizeof(list) - 1;
            cap__namelist_add(&st->warned, skipped->names[i]);
        }
    if (list[0])
        SL_LOG(SL_WARN, "capture.tables_skipped", "tables=%s reason=%s",
               cap__logq(st, list),
               "\"virtual tables and their shadow tables are not "
               "captured: their content is derived from other tables\"");
}

static int add_retire(plan *p, int64_t id, int state)
{
    int64_t *a = realloc(p->retire_id, (size_t)(p->nretire + 1) *
                         sizeof(*a));
    int *b;

    if (a == NULL)
        return -1;
    p->retire_id = a;
    b = realloc(p->retire_state, (size_t)(p->nretire + 1) * sizeof(*b));
    if (b == NULL)
        return -1;
    p->retire_state = b;
    p->retire_id[p->nretire] = id;
    p->retire_state[p->nretire] = state;
    p->nretire++;
    return 0;
}

/* Index of name in a sorted list, or -1. */
static int sorted_index(const cap_namelist *l, const char *name)
{
    int lo = 0, hi = l->n - 1;

    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(l->names[mid], name);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* Make the plan, in the caller's read transaction. */
static int make_plan(cap_state *st, plan *p, jr_err *err)
{
    sqlite3 *db = st->src.db;
    cap_namelist want = { 0 }, skipped = { 0 };
    char **trig = NULL, *covered = NULL;
    int ret;

    memset(p, 0, sizeof(*p));
    if ((ret = cap__schema_version(db, &p->sv, err)) != JR_OK)
        return ret;
    p->moved = st->schema_version < 0 || p->sv != st->schema_version;
    if ((ret = cap__reload_registry(st, err)) != JR_OK ||
        (ret = cap__catalog_load(db, &p->cat, err)) != JR_OK ||
        (ret = cap__list_tables(&p->cat, &st->cfg, &st->reg, &want, &skipped,
                                err)) != JR_OK)
        goto out;
    warn_skipped(st, &skipped);
    if ((trig = calloc((size_t)st->reg.n + 1, sizeof(*trig))) == NULL) {
        ret = cap_fail(err, "malloc", "out of memory");
        goto out;
    }
    if ((ret = cap__trigger_tables(db, &st->reg, trig, err)) != JR_OK)
        goto out;
    for (int i = 0; ret == JR_OK && i < st->reg.n; i++) {
        const cap_inst *a = &st->reg.v[i];
        int retire = 0, wanted = sorted_index(&want, a->name) >= 0;
        const cap_catent *ce = cap__catalog_find(&p->cat, a->name);
        cap_table *t = NULL;

        if (a->state != CAP_ACTIVE)
            continue;
        if (trig[i] == NULL || strcmp(trig[i], a->name) != 0 || !wanted) {
            retire = 1;
        } else if (a->keyless && p->moved) {
            retire = 1;                 /* rowids may have been renumbered */
        } else if (ce == NULL) {
            retire = 1;
        } else if (!p->moved) {
            /* the schema version is the one this installation was checked
            ** against: no definition can have changed (any DDL moves it),
            ** so a restart does not describe every table again */
        } else {
            int rc = cap__table_load(db, ce, &t, err);
            if (rc == JR_OK)
                retire = strcmp(t->schema_json, a->schema_json) != 0;
            else if (rc == JR_ENOTFOUND || rc == JR_ERR)
                retire = 1;             /* JR_ERR: now uncapturable */
            jr_err_clear(err);
            cap__table_free(t);
        }
        if (retire &&
            add_retire(p, a->id, ce != NULL && ce->is_table && wanted
                                     ? CAP_RETIRED : CAP_DROPPED) != 0)
            ret = cap_fail(err, "malloc", "out of memory");
    }
    /* install every wanted table without an ACTIVE installation that
    ** stays: want is sorted (the catalog is), so this is n log n */
    if (ret == JR_OK && (covered = calloc((size_t)want.n + 1, 1)) == NULL)
        ret = cap_fail(err, "malloc", "out of memory");
    for (int k = 0; ret == JR_OK && k < st->reg.n; k++) {
        const cap_inst *a = &st->reg.v[k];
        int i, retiring = 0;
        if (a->state != CAP_ACTIVE)
            continue;
        for (int r = 0; r < p->nretire && !retiring; r++)
            retiring = p->retire_id[r] == a->id;
        if (!retiring && (i = sorted_index(&want, a->name)) >= 0)
            covered[i] = 1;
    }
    for (int i = 0; ret == JR_OK && i < want.n; i++)
        if (!covered[i] && cap__namelist_add(&p->install, want.names[i]) != 0)
            ret = cap_fail(err, "malloc", "out of memory");
    free(covered);
out:
    if (trig != NULL)
        for (int i = 0; i < st->reg.n; i++)
            sqlite3_free(trig[i]);
    free(trig);
    cap__namelist_free(&want);
    cap__namelist_free(&skipped);
    return ret;
}

/* Apply retirements and up to INSTALLS_PER_TXN installations. In the
** gate's write transaction. *done: the whole plan is applied. */
static int apply_plan(cap_state *st, plan *p, int *done, jr_err *err)
{
    sqlite3 *db = st->src.db;
    cap_namelist names;
    int64_t sv, t0 = sl_mono_us();
    int ret, n = 0, first;

    *done = 0;
    if ((ret = cap__schema_version(db, &sv, err)) != JR_OK)
        return ret;
    if (sv != p->sv)
        return JR_EAGAIN;                        /* X3: re-plan */
    if (p->install.n > 0 &&
        (ret = cap__taken_names(db, &names, err)) != JR_OK)
        return ret;
    for (int i = 0; i < p->nretire; i++) {
        cap_inst *a = cap__registry_find(&st->reg, p->retire_id[i]);
        if ((ret = cap__retire(db, p->retire_id[i], p->retire_state[i],
                               err)) != JR_OK)
            return ret;
        SL_LOG(SL_INFO, "capture.table_changed", "table=%s install_id=%lld "
               "action=%s", cap__logq(st, a ? a->name : "?"),
               (long long)p->retire_id[i],
               p->retire_state[i] == CAP_DROPPED ? "drop" : "resnapshot");
    }
    for (first = 0; first < p->install.n && n < INSTALLS_PER_TXN &&
                    (n == 0 || sl_mono_us() - t0 < TXN_BUDGET_US);
         first++) {
        const char *name = p->install.names[first];
        const cap_catent *ce = cap__catalog_find(&p->cat, name);
        cap_table *t = NULL;
        int64_t id;

        if (ce == NULL)
            continue;
        ret = cap__table_load(db, ce, &t, err);
        if (ret == JR_ERR) {
            /* not capturable (e.g. rowid hidden, too wide): warn once */
            if (!cap__namelist_has(&st->warned, name)) {
                SL_LOG(SL_WARN, "capture.table_skipped", "table=%s "
                       "reason=%s", cap__logq(st, name),
                       cap__logq2(st, err->msg));
                cap__namelist_add(&st->warned, name);
            }
            jr_err_clear(err);
            continue;
        }
        if (ret == JR_ENOTFOUND)
            continue;
        ret = cap__install(db, t, &names, &id, err);
        if (ret == JR_OK)
            SL_LOG(SL_INFO, "capture.table_installed", "table=%s "
                   "install_id=%lld columns=%d key=%s", cap__logq(st, name),
                   (long long)id, t->ncols, t->nkey ? "primary" : "rowid");
        cap__table_free(t);
        if (ret != JR_OK) {             /* the caller rolls back */
            cap__namelist_free(&names);
            return ret;
        }
        n++;
    }
    if (p->install.n > 0)
        cap__namelist_free(&names);
    /* keep what is left for the next transaction */
    for (int i = 0; i < first; i++)
        free(p->install.names[i]);
    if (first > 0)
        memmove(p->install.names, p->install.names + first,
                (size_t)(p->install.n - first) * sizeof(char *));
    p->install.n -= first;
    p->nretire = 0;
    *done = p->install.n == 0;
    if ((ret = cap__schema_version(db, &p->sv, err)) != JR_OK)  /* X2 */
        return ret;
    return JR_OK;
}

int cap__reconcile(cap_state *st, jr_err *err)
{
    sqlite3 *db = st->src.db;
    plan p;
    int ret, done = 0, all = 0, applied = 0;

    /* plan in one read transaction: a consistent view of the schema */
    if ((ret = cap__exec(db, "BEGIN", err)) != JR_OK)
        return ret;
    ret = read_paused(st, err);
    if (ret == JR_OK && st->paused) {
        int64_t sv;
        ret = cap__schema_version(db, &sv, err);
        cap_rollback(db);
        if (ret == JR_OK) {
            st->have_schema_version = 1;        /* nothing to do paused */
            st->reconcile_pending = 0;
            st->schema_version = sv;
        }
        return ret;
    }
    if (ret == JR_OK)
        ret = make_plan(st, &p, err);
    cap_rollback(db);
    if (ret != JR_OK) {
        plan_free(&p);
        return ret;
    }
    while (!done) {
        if (p.nretire == 0 && p.install.n == 0) {
            done = 1;
            break;
        }
        if ((ret = cap_gate_begin(&st->src, err)) != JR_OK)
            break;
        ret = apply_plan(st, &p, &all, err);
        if (ret != JR_OK) {
            cap_gate_rollback(&st->src);
            if (cap_gate_busy(err)) {
                jr_err_clear(err);
                ret = JR_EAGAIN;
            }
            break;
        }
        if ((ret = cap_gate_commit(&st->src, err)) != JR_OK)
            break;
        done = all;
        /* our own DDL is not a move: a re-plan after a partial apply must
        ** not retire the keyless tables it just installed */
        if (p.sv != st->schema_version)
            st->pos_dirty = 1;
        st->schema_version = p.sv;
        st->drain_due = 1;
        applied = 1;
    }
    if (applied) {                      /* once: it costs a pass over all */
        int r2 = cap__reload_registry(st, err);
        if (r2 != JR_OK) {
            plan_free(&p);
            return r2;
        }
    }
    if (done) {
        if (p.sv != st->schema_version)
            st->pos_dirty = 1;
        st->schema_version = p.sv;
        st->have_schema_version = 1;
        st->reconcile_pending = 0;
        plan_free(&p);
        return JR_OK;
    }
    plan_free(&p);
    if (ret == JR_EAGAIN) {
        st->reconcile_pending = 1;
        jr_err_clear(err);
    }
    return ret;
}
