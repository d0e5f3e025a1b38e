/*
** br_server.c -- sluice-bench-replay's view of the MariaDB server between
** phases: status (selected counters, mariadbd's CPU, the machine's busy
** CPU, for per-phase differences) and settle (wait until InnoDB has
** flushed its dirty pages and purged its undo history, so one phase does
** not pay for the last).
** INVARIANTS:
**  (V1) settle puts innodb_max_dirty_pages_pct back as it found it.
**  (V2) a /proc figure that cannot be read is left out of the status
**       line, never printed as 0.
*/
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "br.h"

/* Selected server counters (SHOW GLOBAL STATUS) plus mariadbd's CPU. */
int br_cmd_status(void)
{
    static const char q[] =
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', "
        "'Com_insert', 'Com_delete', 'Com_replace', 'Com_load', "
        "'Com_commit', 'Innodb_buffer_pool_reads', "
        "'Innodb_buffer_pool_read_requests', 'Innodb_data_fsyncs', "
        "'Innodb_rows_inserted', 'Innodb_rows_updated', "
        "'Innodb_rows_deleted')";
    MYSQL *db = br_connect(1);
    MYSQL_RES *r;
    MYSQL_ROW row;
    long long pid = br_opt_ll("server-pid", 0);
    double cpu, busy;

    br_db_exec(db, q, sizeof(q) - 1);
    if ((r = mysql_store_result(db)) == NULL)
        bu_die("status: %s", mysql_error(db));
    while ((row = mysql_fetch_row(r)) != NULL)
        printf("%s=%s ", row[0], row[1] ? row[1] : "0");
    mysql_free_result(r);
    mysql_close(db);
    if (pid > 0 && (cpu = bu_proc_cpu_s((pid_t)pid)) >= 0)
        printf("server_cpu_s=%.2f ", cpu);
    if ((busy = bu_machine_busy_s()) >= 0)   /* busy jiffies, all CPUs */
        printf("machine_busy_s=%.2f ", busy);
    printf("\n");
    return 0;
}

static long long status_var(MYSQL *db, const char *name, int *found)
{
    char q[200];
    snprintf(q, sizeof(q), "SHOW GLOBAL STATUS LIKE '%s'", name);
    return br_db_scalar(db, q, found);
}

int br_cmd_settle(void)
{
    MYSQL *db = br_connect(1);
    double t0 = bu_now_s(), limit = (double)br_opt_ll("timeout-s", 60);
    long long total, dirty = 0, hist = 0;
    int have_hist, f;
    char q[200];
    MYSQL_RES *r;
    MYSQL_ROW row;
    char oldv[64] = "90";

    br_db_exec(db, "SELECT @@GLOBAL.innodb_max_dirty_pages_pct", 42);
    if ((r = mysql_store_result(db)) != NULL) {
        if ((row = mysql_fetch_row(r)) != NULL && row[0])
            snprintf(oldv, sizeof(oldv), "%s", row[0]);
        mysql_free_result(r);
    }
    br_db_exec(db, "SET GLOBAL innodb_max_dirty_pages_pct = 0", 41);
    total = status_var(db, "Innodb_buffer_pool_pages_total", &f);
    status_var(db, "Innodb_history_list_length", &have_hist);
    for (;;) {
        dirty = status_var(db, "Innodb_buffer_pool_pages_dirty", &f);
        hist = have_hist ? status_var(db, "Innodb_history_list_length", &f)
                         : 0;
        if ((dirty <= total / 200 && hist < 5000) || bu_now_s() - t0 > limit)
            break;
        usleep(200000);
    }
    snprintf(q, sizeof(q), "SET GLOBAL innodb_max_dirty_pages_pct = %s",
             oldv);
    br_db_exec(db, q, strlen(q));
    mysql_close(db);
    printf("seconds=%.1f dirty_pages=%lld history=%lld timed_out=%d\n",
           bu_now_s() - t0, dirty, hist, bu_now_s() - t0 > limit);
    return 0;
}
