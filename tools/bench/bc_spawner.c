/*
** bc_spawner.c -- how sluice-bench-capture runs sluice-capture: through a
** small spawner process forked at the top of main(), before this program
** allocates its row pool. Linux carries a parent's peak RSS into a forked
** child's ru_maxrss, so children of the bench itself would inherit the
** pool; children of the spawner report their own peak and nothing of
** ours (the snapshot phase's RSS figure depends on it).
**
** PROTOCOL: one request pipe, one result pipe, fixed-size messages.
**   SP_SPAWN argv + log -> the spawner bu_spawn()s it -> pid
**   SP_WAIT pid         -> the spawner wait4()s it    -> status, ru_maxrss,
**                          CPU time, sl_mono_us() when wait4 returned
** INVARIANTS:
**  (S1) one request at a time: every request is answered before the next
**       is written, so results never cross.
**  (S2) the pipes are close-on-exec: sluice-capture holds none of them,
**       so if the spawner dies the bench sees end of file at once.
**  (S3) the spawner dies with the bench (PR_SET_PDEATHSIG), and its
**       children with it (bu_spawn()).
*/
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bc.h"
#include "sl_clock.h"

enum { SP_SPAWN = 1, SP_WAIT = 2 };

typedef struct sp_msg {
    int type;
    int pid;
    int argc;
    char log[512];           /* child stdout+stderr */
    char args[3072];         /* argc NUL-terminated strings */
} sp_msg;

static int g_sp_req = -1, g_sp_res = -1;
static pid_t g_sp_pid;
static int64_t g_child_cpu_us;     /* CPU of every child reaped so far */

static void spawner_loop(int rfd, int wfd)
{
    sp_msg m;

    while (bu_read_full(rfd, &m, sizeof(m)) == 0) {
        bc_sp_res r;
        memset(&r, 0, sizeof(r));
        if (m.type == SP_SPAWN) {
            char *argv[64];
            char *p = m.args;
            int n = 0;
            for (int i = 0; i < m.argc && n < 63; i++) {
                argv[n++] = p;
                p += strlen(p) + 1;
            }
            argv[n] = NULL;
            r.pid = bu_spawn(m.log, 0, argv);
        } else if (m.type == SP_WAIT) {
            struct rusage ru;
            int st;
            r.pid = m.pid;
            if (bu_wait(m.pid, -1, &st, &ru) == 0) {
                r.status = st;
                r.maxrss_kb = ru.ru_maxrss;
                r.cpu_us = (int64_t)ru.ru_utime.tv_sec * 1000000 +
                           ru.ru_utime.tv_usec +
                           (int64_t)ru.ru_stime.tv_sec * 1000000 +
                           ru.ru_stime.tv_usec;
            } else {
                r.status = -1;
            }
            r.end_us = sl_mono_us();
        }
        if (bu_write_full(wfd, &r, sizeof(r)) != 0)
            break;
    }
    _exit(0);
}

void bc_spawner_start(void)
{
    int req[2], res[2];

    if (pipe(req) != 0 || pipe(res) != 0)
        bu_die("pipe: %s", strerror(errno));
    for (int i = 0; i < 2; i++) {
        fcntl(req[i], F_SETFD, FD_CLOEXEC);
        fcntl(res[i], F_SETFD, FD_CLOEXEC);
    }
    g_sp_pid = fork();
    if (g_sp_pid < 0)
        bu_die("fork: %s", strerror(errno));
    if (g_sp_pid == 0) {
        close(req[1]);
        close(res[0]);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        spawner_loop(req[0], res[1]);
    }
    close(req[0]);
    close(res[1]);
    g_sp_req = req[1];
    g_sp_res = res[0];
}

pid_t bc_spawner_pid(void)
{
    return g_sp_pid;
}

int64_t bc_sp_child_cpu_us(void)
{
    return g_child_cpu_us;
}

pid_t bc_sp_spawn(const char *log, const char *const *argv)
{
    sp_msg m;
    bc_sp_res r;
    size_t off = 0;

    memset(&m, 0, sizeof(m));
    m.type = SP_SPAWN;
    snprintf(m.log, sizeof(m.log), "%s", log);
    for (; argv[m.argc] != NULL; m.argc++) {
        size_t len = strlen(argv[m.argc]) + 1;
        if (off + len > sizeof(m.args))
            bu_die("command line too long");
        memcpy(m.args + off, argv[m.argc], len);
        off += len;
    }
    if (bu_write_full(g_sp_req, &m, sizeof(m)) != 0 ||
        bu_read_full(g_sp_res, &r, sizeof(r)) != 0 || r.pid <= 0)
        bu_die("spawner failed to start %s", argv[0]);
    return r.pid;
}

bc_sp_res bc_sp_wait(pid_t pid, long *hwm_kb)
{
    sp_msg m;
    bc_sp_res r;
    struct pollfd pfd = { g_sp_res, POLLIN, 0 };

    memset(&m, 0, sizeof(m));
    m.type = SP_WAIT;
    m.pid = pid;
    if (bu_write_full(g_sp_req, &m, sizeof(m)) != 0)
        bu_die("spawner gone");
    for (;;) {
        long kb = bu_proc_status_kb(pid, "VmHWM");
        if (hwm_kb != NULL && kb > *hwm_kb)
            *hwm_kb = kb;
        if (poll(&pfd, 1, 5) > 0)
            break;
    }
    if (bu_read_full(g_sp_res, &r, sizeof(r)) != 0)
        bu_die("spawner gone");
    g_child_cpu_us += r.cpu_us;
    return r;
}

int bc_sp_ok(const bc_sp_res *r)
{
    return bu_exited_ok(r->status);
}

bc_sp_res bc_run_capture(const char *log, const char *src,
                         const char *jdir, const char *extra,
                         long *hwm_kb)
{
    const char *argv[] = { bc_opt.capture, "--source", src, "--journal",
                           jdir, "--log-level", "info", extra, NULL };
    pid_t pid = bc_sp_spawn(log, argv);
    bc_sp_res r = bc_sp_wait(pid, hwm_kb);

    if (!bc_sp_ok(&r))
        bu_die("%s --source %s --journal %s %s failed (status 0x%x); "
               "see %s", bc_opt.capture, src, jdir, extra ? extra : "",
               r.status, log);
    return r;
}
