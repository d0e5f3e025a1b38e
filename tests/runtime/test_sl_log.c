/*
** test_sl_log.c -- logfmt output (runtime/sl_log.c) and metric
** labels (sl_prom.c) judged by the independent oracles of
** tests/lib/tl_output.c: whatever bytes a value holds (quotes,
** backslashes, newlines, '=', spaces, control characters, bytes that are
** not UTF-8, NULs), the line parses and the value reads back byte for
** byte; a caller's raw %s or an over-long line still gives one line that
** parses.
*/
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_prom.h"
#include "sl_log.h"
#include "testlib.h"
#include "tl_output.h"

static char g_dir[512];

static void up(void)
{
    cr_assert_eq(tl_tmpdir_make(g_dir, sizeof(g_dir)), 0);
    sl_log_init("/usr/bin/sluice test");
}

static void down(void)
{
    tl_rm_rf(g_dir);
}

TestSuite(runtime_sl_log, .init = up, .fini = down);

static const char *const g_hostile[] = {
    "", "plain", "two words", "a=b", "say \"hi\"", "back\\slash",
    "new\nline", "cr\rtab\t", "\x01\x1f\x7f", "caf\xc3\xa9",
    "bad \xff\xfe utf8", "\xc3", "overlong \xc0\xaf", "surrogate \xed\xa0\x80",
    "=", "\"", "\\", " ", "emoji \xf0\x9f\x98\x80", "end\\",
    "x\\x41", "\xe2\x80\xa8 line separator",
};

typedef struct got {
    char *val;
    size_t len;
    int n;
} got;

static int grab(const char *key, const char *val, size_t vlen, void *ctx)
{
    got *g = ctx;

    (void)key;
    g->n++;
    free(g->val);
    g->val = malloc(vlen + 1);
    memcpy(g->val, val, vlen + 1);
    g->len = vlen;
    return 0;
}

/* "k=" + sl_qn(p, n) parses as one field whose value is p[0..n) (or, cut
** for want of room, a prefix of it and "..."). 0, or 1 with why filled.
** No Criterion assertion per call: with --full-stats every passing one is
** a message to the runner, and this runs 20,000 times. */
static int roundtrip(const void *p, size_t n, size_t cap, char *why,
                     size_t wcap)
{
    char *buf = malloc(cap + 2), *line = malloc(cap + 8), err[600];
    got g = { NULL, 0, 0 };
    int r, bad = 0;

    buf[cap] = 'Z';
    sl_qn(buf, cap, p, n);
    snprintf(line, cap + 8, "k=%s", buf);
    if (buf[cap] != 'Z' || strlen(buf) >= cap) {
        snprintf(why, wcap, "sl_qn wrote past its capacity %zu", cap);
        bad = 1;
    } else if ((r = tl_logfmt_parse(line, strlen(line), grab, &g, err,
                                    sizeof(err))) != 1) {
        snprintf(why, wcap, "%d fields: %s", r, err);
        bad = 1;
    } else if (sl_logfmt_valid(line, strlen(line), NULL) != 1) {
        snprintf(why, wcap, "sl_logfmt_valid refuses what sl_qn made: %s",
                 line);
        bad = 1;
    } else if (cap < 8) {
        /* too small for even `"..."`: only well-formed is promised */
    } else if (cap >= 4 * n + 3 ||
               (g.len == n && (n == 0 || memcmp(g.val, p, n) == 0))) {
        /* room for the worst case (every byte \xHH): never cut */
        if (g.len != n || (n > 0 && memcmp(g.val, p, n) != 0)) {
            snprintf(why, wcap, "value of %zu bytes read back as %zu "
                     "different ones: %s", n, g.len, line);
            bad = 1;
        }
    } else if (g.len < 3 || memcmp(g.val + g.len - 3, "...", 3) != 0 ||
               memcmp(g.val, p, g.len - 3) != 0) {
        snprintf(why, wcap, "a cut value is not a prefix and \"...\": %s",
                 line);
        bad = 1;
    }
    free(g.val);
    free(buf);
    free(line);
    return bad;
}

Test(runtime_sl_log, hostile_values_read_back_byte_for_byte)
{
    char why[1200];

    for (size_t i = 0; i < sizeof(g_hostile) / sizeof(g_hostile[0]); i++)
        if (roundtrip(g_hostile[i], strlen(g_hostile[i]), 512, why,
                      sizeof(why)))
            cr_assert_fail("value %zu: %s", i, why);
    if (roundtrip("nul\0inside", 10, 512, why, sizeof(why)))
        cr_assert_fail("%s", why);
}

Test(runtime_sl_log, random_bytes_read_back_and_cut_values_stay_well_formed)
{
    unsigned s = 12345;
    char why[1200];

    for (int it = 0; it < 20000; it++) {
        unsigned char b[64];
        size_t n = (s = s * 1103515245u + 12345u) % 40;
        for (size_t i = 0; i < n; i++) {
            s = s * 1103515245u + 12345u;
            /* mostly the bytes that matter */
            b[i] = (s >> 16) % 3 == 0 ? (unsigned char)(s >> 8)
                   : (unsigned char)"a \"=\\\n\x01\xc3\xa9\xff\xe2\x82"
                         [(s >> 8) % 13];
        }
        if (roundtrip(b, n, 1 + (it % 7 == 0 ? (s >> 4) % 40 : 300), why,
                      sizeof(why)))
            cr_assert_fail("iteration %d: %s", it, why);
    }
}

/* Run fn with fd 2 sent to a file; returns what was written. */
static char *capture_stderr(void (*fn)(void))
{
    char path[600];
    int fd, saved;
    FILE *f;
    char *text;
    long len;

    snprintf(path, sizeof(path), "%s/stderr", g_dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    fflush(stderr);
    saved = dup(2);
    dup2(fd, 2);
    fn();
    dup2(saved, 2);
    close(saved);
    close(fd);
    f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    text = calloc(1, (size_t)len + 1);
    cr_assert_eq(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    return text;
}

static void emit_hostile(void)
{
    char q[300];

    for (size_t i = 0; i < sizeof(g_hostile) / sizeof(g_hostile[0]); i++)
        SL_LOG(SL_ERROR, "test.hostile", "table=%s n=%zu",
               sl_q(q, sizeof(q), g_hostile[i]), i);
}

Test(runtime_sl_log, every_line_parses_and_carries_the_value)
{
    char *text = capture_stderr(emit_hostile), *line = text, why[800];
    size_t i = 0;
    int n = tl_logfmt_text(text, strlen(text), why, sizeof(why));

    cr_assert_eq(n, (int)(sizeof(g_hostile) / sizeof(g_hostile[0])),
                 "%s\n%s", why, text);
    for (; *line; i++) {
        char *nl = strchr(line, '\n');
        char *v = tl_logfmt_get(line, (size_t)(nl - line), "table");
        cr_assert_not_null(v);
        cr_assert_str_eq(v, g_hostile[i]);
        cr_assert_null(tl_logfmt_get(line, (size_t)(nl - line), "fields"));
        free(v);
        line = nl + 1;
    }
    free(text);
}

static void emit_raw(void)
{
    /* a caller that forgot sl_q() */
    SL_LOG(SL_WARN, "test.raw", "table=%s rows=%d", "evil\nlevel=error \"x",
           3);
    SL_LOG(SL_WARN, "test.raw", "msg=%s", "caf\xc3 \xff");
    SL_LOG(SL_WARN, "test.raw", "%s", "");
    SL_LOG(SL_WARN, "test.raw", "empty= ok=1");
}

Test(runtime_sl_log, a_raw_value_cannot_break_the_line)
{
    char *text = capture_stderr(emit_raw), why[800], *nl, *v;
    int n = tl_logfmt_text(text, strlen(text), why, sizeof(why));

    cr_assert_eq(n, 4, "%s\n%s", why, text);
    nl = strchr(text, '\n');
    v = tl_logfmt_get(text, (size_t)(nl - text), "fields");
    cr_assert_not_null(v, "%s", text);
    cr_assert_str_eq(v, "table=evil\nlevel=error \"x rows=3");
    cr_assert_null(tl_logfmt_get(text, (size_t)(nl - text), "rows"));
    free(v);
    cr_assert_not_null(strstr(text, "event=test.raw empty= ok=1\n"), "%s",
                       text);
    free(text);
}

static void emit_long(void)
{
    char big[9000], q[9100];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    big[100] = ' ';
    SL_LOG(SL_INFO, "test.long", "a=1 b=%s c=2", sl_q(q, sizeof(q), big));
    SL_LOG(SL_INFO, "test.long", "a=1 b=%s c=2", big + 101);
}

Test(runtime_sl_log, an_overlong_line_is_cut_after_a_whole_field)
{
    char *text = capture_stderr(emit_long), why[800], *l2;
    int n = tl_logfmt_text(text, strlen(text), why, sizeof(why));

    cr_assert_eq(n, 2, "%s\n%.300s", why, text);
    l2 = strchr(text, '\n') + 1;
    cr_assert_leq(l2 - text, SL_LOG_LINE_MAX);
    cr_assert_leq(strlen(l2), SL_LOG_LINE_MAX);
    cr_assert_not_null(strstr(text, " a=1 truncated=true\n"), "%.300s",
                       text);
    cr_assert_not_null(strstr(l2, " a=1 truncated=true\n"), "%.300s", l2);
    free(text);
}

Test(runtime_sl_log, metric_labels_keep_the_exposition_valid)
{
    char *text = NULL, why[800];
    size_t len = 0;
    FILE *f;

    for (size_t i = 0; i < sizeof(g_hostile) / sizeof(g_hostile[0]); i++) {
        f = open_memstream(&text, &len);
        sl_prom_family(f, "sluice_test_total", "counter", "A test.");
        sl_prom_sample(f, "sluice_test_total", g_hostile[i],
                           g_hostile[(i + 3) %
                                     (sizeof(g_hostile) /
                                      sizeof(g_hostile[0]))]);
        fputs(" 1\n", f);
        fclose(f);
        cr_assert_eq(tl_prom_valid(text, len, why, sizeof(why)), 0,
                     "label %zu: %s", i, why);
        free(text);
    }
}
