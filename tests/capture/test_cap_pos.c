/*
** test_cap_pos.c -- capture's source position codec (capture/cap_pos.h),
** in process: the text capture commits with its records and
** sluice-verify's live mode reads back. decode(encode(p)) == p for any
** set of installations; anything that is not exactly that form is
** refused whole, leaving the position empty.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap_pos.h"

static void expect_equal(const cap_pos *a, const cap_pos *b)
{
    cr_assert_eq(a->n, b->n);
    cr_assert_eq(a->schema_version, b->schema_version);
    for (int i = 0; i < a->n; i++) {
        cr_expect_eq(a->v[i].id, b->v[i].id);
        cr_expect_eq(a->v[i].log_id, b->v[i].log_id);
        cr_expect_eq(a->v[i].snapshotted, b->v[i].snapshotted);
        cr_expect_eq(a->v[i].drop_done, b->v[i].drop_done);
    }
}

Test(cap_pos, the_documented_example_reads_back)
{
    static const char text[] = "sluice-pos 1 sv=7 3:1042:s 4:0:sd";
    cap_pos p = { 0, 0, NULL, -1 };
    jr_err e = { 0 };
    const cap_posent *en;
    char *out;
    size_t len;

    cr_assert_eq(cap_pos_decode(&p, text, strlen(text), &e), JR_OK, "%s",
                 e.msg);
    cr_expect_eq(p.schema_version, 7);
    cr_assert_eq(p.n, 2);
    en = cap_pos_find(&p, 3);
    cr_assert_not_null(en);
    cr_expect(en->log_id == 1042 && en->snapshotted && !en->drop_done);
    en = cap_pos_find(&p, 4);
    cr_assert_not_null(en);
    cr_expect(en->log_id == 0 && en->snapshotted && en->drop_done);
    cr_expect_null(cap_pos_find(&p, 5));
    cr_assert_eq(cap_pos_encode(&p, &out, &len), 0);
    cr_expect_eq(len, strlen(text));
    cr_expect_str_eq(out, text);
    free(out);
    cap_pos_free(&p);
}

Test(cap_pos, random_positions_round_trip)
{
    unsigned seed = 20261203;

    for (int round = 0; round < 200; round++) {
        cap_pos p = { 0, 0, NULL, -1 }, q = { 0, 0, NULL, -1 };
        jr_err e = { 0 };
        int n = rand_r(&seed) % 50;
        char *out;
        size_t len;

        if (rand_r(&seed) % 4)
            p.schema_version = rand_r(&seed) % 1000;
        for (int i = 0; i < n; i++) {
            cap_posent *en = cap_pos_get(&p, 1 + rand_r(&seed) % 10000);
            cr_assert_not_null(en);
            en->log_id = (int64_t)rand_r(&seed) * rand_r(&seed);
            en->snapshotted = rand_r(&seed) % 2;
            en->drop_done = rand_r(&seed) % 2;
        }
        for (int i = 1; i < p.n; i++)
            cr_assert_lt(p.v[i - 1].id, p.v[i].id, "not sorted by id");
        cr_assert_eq(cap_pos_encode(&p, &out, &len), 0);
        cr_assert_eq(cap_pos_decode(&q, out, len, &e), JR_OK, "%s: %s",
                     out, e.msg);
        expect_equal(&p, &q);
        free(out);
        cap_pos_free(&p);
        cap_pos_free(&q);
    }
}

Test(cap_pos, anything_else_is_refused_whole)
{
    static const char *const bad[] = {
        "", "sluice-pos", "sluice-pos 2", "sluice-pos 10", "sluice-pos 1x",
        "sluice-pos 1 sv=", "sluice-pos 1 sv=-1", "sluice-pos 1 sv=7x",
        "sluice-pos 1 3:4", "sluice-pos 1 3:4:x", "sluice-pos 1 3:4:sds",
        "sluice-pos 1 0:4:s", "sluice-pos 1 -3:4:s", "sluice-pos 1 3:-4:s",
        "sluice-pos 1 a:4:s", "sluice-pos 1 3:4:s junk", "SLUICE-POS 1",
        "litestream 1 3:4:s",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cap_pos p = { 0, 0, NULL, -1 };
        jr_err e = { 0 };
        cr_expect_eq(cap_pos_decode(&p, bad[i], strlen(bad[i]), &e), JR_ERR,
                     "accepted \"%s\"", bad[i]);
        cr_expect_eq(p.n, 0, "\"%s\" left %d entries", bad[i], p.n);
        cr_expect_not_null(strstr(e.msg, "not a capture position"),
                           "\"%s\": %s", bad[i], e.msg);
        cap_pos_free(&p);
    }
}
