/*
** test_err.c -- journal/err.c: jr_err is sluice's one error type and
** jr_err_set its one setter. The first failure wins (code, class, domain,
** cause, op and message all stay those of the first), a NULL err is
** allowed, the message is cut to fit, and jr_err_clear makes room for the
** next independent failure.
*/
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "sluice/journal.h"

TestSuite(journal_err);

Test(journal_err, the_first_failure_wins_with_all_its_fields)
{
    jr_err err = { 0 };

    cr_assert_eq(jr_err_set(&err, JR_ECORRUPT, 3, JR_D_SQLITE, 5, "step",
                            "first %d", 1), JR_ECORRUPT);
    cr_assert_eq(jr_err_set(&err, JR_ERR, 4, JR_D_MARIADB, 1062, "query",
                            "second"), JR_ERR,
                 "a later failure still returns its own code");
    cr_expect_eq(err.code, JR_ECORRUPT);
    cr_expect_eq(err.cls, 3);
    cr_expect_eq(err.domain, JR_D_SQLITE);
    cr_expect_eq(err.cause, 5);
    cr_expect_str_eq(err.op, "step");
    cr_expect_str_eq(err.msg, "first 1");
}

Test(journal_err, a_null_err_is_allowed_and_clear_makes_room)
{
    jr_err err = { 0 };

    cr_assert_eq(jr_err_set(NULL, JR_ERR, 0, JR_D_ERRNO, EIO, NULL, "x"),
                 JR_ERR);
    jr_err_set(&err, JR_ERR, 0, JR_D_ERRNO, EIO, NULL, "x");
    jr_err_clear(&err);
    cr_assert_eq(err.code, JR_OK);
    jr_err_set(&err, JR_EFULL, 0, JR_D_LMDB, -30792, "mdb_put", "y");
    cr_expect_eq(err.code, JR_EFULL);
    cr_expect_eq(err.domain, JR_D_LMDB);
    cr_expect_str_eq(err.msg, "y");
}

Test(journal_err, a_long_message_is_cut_to_fit)
{
    jr_err err = { 0 };
    char big[2000];

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    jr_err_set(&err, JR_ERR, 0, JR_D_NONE, 0, NULL, "%s", big);
    cr_expect_eq(strlen(err.msg), sizeof(err.msg) - 1);
}
