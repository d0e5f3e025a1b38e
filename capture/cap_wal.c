/*
** cap_wal.c -- which pages of the source changed since the last drain
** pass, read from its write-ahead log, so a pass reads only the change
** logs that can hold something new (cap_drain.c, G4).
**
** WHY. SQLite drops a connection's whole page cache whenever another
** connection has committed; a pass that looked at every change log would
** then read one page per captured table after every commit: with a
** thousand tables that is most of a pass. A change log of one page (most
** of them, most of the time: it is trimmed) is changed by an insert only
** through that page, its root; a log of more pages is always read.
**
** HOW. The wal-index header (the first 48 bytes of the -shm file, twice;
** https://www.sqlite.org/walformat.html) holds mxFrame, the last valid
** frame, and the salts of the current WAL. A MARK is that header's
** (mxFrame, salts), read when both copies agree. Frames (a.mx, b.mx] of
** the -wal file (https://www.sqlite.org/fileformat2.html#walformat: 32-byte
** header, then frames of a 24-byte header and a page; the header starts
** with the page number and carries the salts) name every page written
** between two marks. When the salts differ (the WAL restarted, its old
** frames were checkpointed away) or anything does not add up, the answer
** is "unknown" and the pass reads every log.
**
** INVARIANT (W1): the page set is a SUPERSET of the pages changed between
** the two snapshots it brackets: the lower mark is taken before the
** previous pass's read transaction began, the upper one after this pass's
** began. Missing a change would split a source transaction across groups,
** so any doubt reads everything. SLUICE_CAPTURE_CHECK_FILTER=1 (the test
** suites set it) reads the skipped logs too and aborts if one had rows.
*/
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "cap.h"
#include "sl_clock.h"
#include "sl_sig.h"

#define HDR_SIZE     48
#define OFF_ISINIT   12
#define OFF_SZPAGE   14
#define OFF_MXFRAME  16
#define OFF_SALT     32
#define WAL_HDR      32
#define FRAME_HDR    24
#define MAX_FRAMES   65536          /* more: read everything instead */

int cap__wal_mark(cap_src *s, cap_walmark *m)
{
    unsigned char h0[HDR_SIZE], h1[HDR_SIZE];
    uint16_t sz;

    memset(m, 0, sizeof(*m));
    if (s->shm_map == NULL)
        return 0;
    for (int tries = 0; tries < 8; tries++) {
        memcpy(h0, (const void *)s->shm_map, HDR_SIZE);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        memcpy(h1, (const void *)(s->shm_map + HDR_SIZE), HDR_SIZE);
        if (memcmp(h0, h1, HDR_SIZE) == 0 && h0[OFF_ISINIT]) {
            memcpy(&m->mx, h0 + OFF_MXFRAME, 4);
            memcpy(&sz, h0 + OFF_SZPAGE, 2);
            m->szpage = (uint32_t)(sz & 0xfe00) + ((uint32_t)(sz & 1) << 16);
            memcpy(m->salt, h0 + OFF_SALT, 8);
            memcpy(m->hdr, h0, HDR_SIZE);
            m->valid = m->szpage >= 512;
            return m->valid;
        }
    }
    return 0;
}

int cap__wal_moved(cap_src *s, const cap_walmark *m)
{
    cap_walmark now;

    if (!cap__wal_mark(s, &now) || !m->valid)
        return 1;                   /* cannot tell: assume it did */
    return memcmp(now.hdr, m->hdr, HDR_SIZE) != 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int cap__wal_pages(cap_src *s, const cap_walmark *a, const cap_walmark *b,
                   cap_pageset *out)
{
    uint32_t n;

    out->n = 0;
    if (!a->valid || !b->valid || memcmp(a->salt, b->salt, 8) != 0 ||
        b->mx < a->mx || a->szpage != b->szpage)
        return 0;
    n = b->mx - a->mx;
    if (n > MAX_FRAMES)
        return 0;
    if (n == 0)
        return 1;
    if (s->wal_fd < 0) {
        const char *db = sqlite3_db_filename(s->db, "main");
        char *wal = sqlite3_mprintf("%s-wal", db);
        if (wal == NULL)
            return 0;
        s->wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
        sqlite3_free(wal);
        if (s->wal_fd < 0)
            return 0;
    }
    if (out->cap < n) {
        uint32_t *v = realloc(out->v, (size_t)n * sizeof(*v));
        if (v == NULL)
            return 0;
        out->v = v;
        out->cap = n;
    }
    for (uint32_t f = a->mx + 1; f <= b->mx; f++) {
        unsigned char fh[16];
        off_t off = WAL_HDR + (off_t)(f - 1) * (FRAME_HDR + b->szpage);
        if (pread(s->wal_fd, fh, sizeof(fh), off) != (ssize_t)sizeof(fh) ||
            memcmp(fh + 8, b->salt, 8) != 0)
            return 0;               /* not a frame of this WAL: unknown */
        out->v[out->n++] = (uint32_t)fh[0] << 24 | (uint32_t)fh[1] << 16 |
                           (uint32_t)fh[2] << 8 | fh[3];
    }
    qsort(out->v, out->n, sizeof(*out->v), cmp_u32);
    return 1;
}

int cap__pageset_has(const cap_pageset *p, uint32_t page)
{
    return p->n > 0 && bsearch(&page, p->v, p->n, sizeof(*p->v),
                               cmp_u32) != NULL;
}

/* ---- waiting for a commit ----
** A commit writes frames to the -wal file, then updates the wal-index
** header in shared memory. inotify tells us about the write at once (no
** polling while the application is idle); the header follows within
** microseconds (or an fsync later), so after an event we look at it a few
** times before going back to sleep. A slow poll stays as a safety net. */

#define SAFETY_MS   50
#define FOLLOW_US   20000
#define FOLLOW_STEP 250

static void watch(cap_src *s)
{
    const char *db = sqlite3_db_filename(s->db, "main");
    char *wal;

    if (s->ino_fd < 0)
        s->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (s->ino_fd < 0 || s->ino_wd >= 0 ||
        (wal = sqlite3_mprintf("%s-wal", db)) == NULL)
        return;
    s->ino_wd = inotify_add_watch(s->ino_fd, wal, IN_MODIFY | IN_DELETE_SELF |
                                  IN_MOVE_SELF);
    sqlite3_free(wal);
}

void cap__wal_unwatch(cap_src *s)
{
    if (s->ino_fd >= 0)
        close(s->ino_fd);
    s->ino_fd = -1;
    s->ino_wd = -1;
}

int cap__wal_wait(cap_src *s, const cap_walmark *seen, int timeout_ms,
                  volatile int *stop)
{
    int64_t end = sl_mono_us() + (int64_t)timeout_ms * 1000;

    watch(s);
    for (;;) {
        struct pollfd pfd;
        int64_t left = end - sl_mono_us();
        int ms, got = 0;

        if (cap__wal_moved(s, seen))
            return 1;
        if (*stop || left <= 0)
            return 0;
        ms = left / 1000 > SAFETY_MS ? SAFETY_MS : (int)(left / 1000) + 1;
        if (s->ino_wd < 0) {
            sl_sleep_ms(ms);
            continue;
        }
        pfd.fd = s->ino_fd;
        pfd.events = POLLIN;
        if (poll(&pfd, 1, ms) > 0) {
            char buf[4096];
            ssize_t n;
            while ((n = read(s->ino_fd, buf, sizeof(buf))) > 0) {
                for (char *p = buf; p < buf + n;) {
                    const struct inotify_event *ev = (const void *)p;
                    if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF |
                                    IN_IGNORED))
                        s->ino_wd = -1;         /* watch again next time */
                    p += sizeof(*ev) + ev->len;
                }
                got = 1;
            }
        }
        if (!got)
            continue;
        for (int64_t f = sl_mono_us() + FOLLOW_US; sl_mono_us() < f;) {
            struct timespec ts = { 0, FOLLOW_STEP * 1000 };
            if (cap__wal_moved(s, seen))
                return 1;
            nanosleep(&ts, NULL);
        }
    }
}
