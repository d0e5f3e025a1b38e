/*
** testlib.c -- temporary directories and build-tree lookup for tests.
**
** INVARIANTS
**  (T1) tl_tmpdir_make() only ever creates a NEW directory (mkdtemp, mode
**       0700): two tests, or two build trees running ctest at once, never
**       share one.
**  (T2) tl_rm_rf() never leaves the tree it was given: nftw(FTW_PHYS)
**       does not follow symbolic links, it unlinks them.
**  (T3) Nothing here prints or exits; callers decide how to fail.
*/
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* nftw() */
#endif
#include "testlib.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SLUICE_DEFAULT_BUILD_DIR
#define SLUICE_DEFAULT_BUILD_DIR "."
#endif

int tl_tmpdir_make(char *out, size_t cap)
{
    const char *base = getenv("TMPDIR");
    size_t len;
    int n;

    if (out == NULL || cap == 0) {
        errno = EINVAL;
        return -1;
    }
    out[0] = '\0';
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    len = strlen(base);
    while (len > 1 && base[len - 1] == '/')
        len--;
    n = snprintf(out, cap, "%.*s/sluice-test-XXXXXX", (int)len, base);
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        errno = ENAMETOOLONG;
        return -1;
    }
    if (mkdtemp(out) == NULL) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP || flag == FTW_D)
        return rmdir(path) == 0 ? 0 : errno;
    return unlink(path) == 0 ? 0 : errno;
}

int tl_rm_rf(const char *path)
{
    struct stat st;
    int rc;

    if (path == NULL || path[0] == '\0') {
        errno = EINVAL;
        return -1;
    }
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    /* FTW_DEPTH: children before their directory; FTW_PHYS: see (T2). */
    rc = nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS);
    if (rc > 0) {
        errno = rc;
        return -1;
    }
    return rc == 0 ? 0 : -1;
}

const char *tl_build_dir(void)
{
    const char *dir = getenv("SLUICE_BUILD_DIR");

    if (dir != NULL && dir[0] != '\0')
        return dir;
    return SLUICE_DEFAULT_BUILD_DIR;
}

char *tl_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0, k;

    if (len != NULL)
        *len = 0;
    if (f == NULL)
        return NULL;
    for (;;) {
        if (cap - n < 4096) {
            char *nb = realloc(buf, cap ? cap * 2 : 8192);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = nb;
            cap = cap ? cap * 2 : 8192;
        }
        k = fread(buf + n, 1, cap - n - 1, f);
        n += k;
        if (k == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        errno = EIO;
        return NULL;
    }
    fclose(f);
    buf[n] = 0;
    if (len != NULL)
        *len = n;
    return buf;
}

int tl_count(const char *hay, const char *needle)
{
    size_t len = needle != NULL ? strlen(needle) : 0;
    int n = 0;

    if (hay == NULL || len == 0)
        return 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + len, needle))
        n++;
    return n;
}
