/*
** bench_fs.c -- file descriptors and scratch files for the sluice-bench-*
** programs: full reads and writes, rm -rf, mkdir -p (see bench_util.h).
** INVARIANTS:
**  (F1) no shell: paths go to the system calls as they are, so a quote in
**       a --dir cannot turn into a command.
**  (F2) removing what is not there succeeds; any other failure bu_die()s,
**       so a run never starts on the leftovers of the last one.
*/
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_util.h"

int bu_read_full(int fd, void *buf, size_t n)
{
    char *p = buf;

    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int bu_write_full(int fd, const void *buf, size_t n)
{
    const char *p = buf;

    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

void bu_rm_rf(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char sub[4096];

    if (d == NULL) {
        if (unlink(path) != 0 && errno != ENOENT)
            bu_die("cannot remove %s: %s", path, strerror(errno));
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        bu_rm_rf(sub);
    }
    closedir(d);
    if (rmdir(path) != 0)
        bu_die("cannot remove %s: %s", path, strerror(errno));
}

void bu_rm_db(const char *path)
{
    static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
    char p[4096];

    for (size_t i = 0; i < BU_NELEM(suffix); i++) {
        snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
        bu_rm_rf(p);
    }
}

void bu_mkdir_p(const char *dir)
{
    char tmp[4096];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof(tmp))
        bu_die("bad directory name");
    memcpy(tmp, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];

            tmp[i] = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                bu_die("mkdir %s: %s", tmp, strerror(errno));
            tmp[i] = c;
        }
    }
}
