/*
** test_sl_assert.c -- SL_ASSERT is on in every build and aborts naming
** the condition; SL_CHECK is evaluated exactly in SLUICE_DEBUG builds
** (tools/test.sh's ASan build), where a failed one aborts too.
*/
#include <criterion/criterion.h>
#include <signal.h>

#include "sl_assert.h"

static int bump(int *n)
{
    return ++*n > 0;
}

Test(runtime_assert, sl_assert_holds_quietly)
{
    int n = 0;

    SL_ASSERT(bump(&n));
    cr_assert_eq(n, 1, "SL_ASSERT must evaluate its condition in every "
                 "build");
}

Test(runtime_assert, a_failed_sl_assert_aborts, .signal = SIGABRT)
{
    int zero = 0;

    SL_ASSERT(zero == 1);
}

Test(runtime_assert, sl_check_is_evaluated_only_in_debug_builds)
{
    int n = 0;

    SL_CHECK(bump(&n));
    cr_assert_eq(n, SL_DEBUG_BUILD, "SL_CHECK evaluated %d times in a "
                 "build with SL_DEBUG_BUILD %d", n, SL_DEBUG_BUILD);
}

#if SL_DEBUG_BUILD
Test(runtime_assert, a_failed_sl_check_aborts_in_debug_builds,
     .signal = SIGABRT)
{
    int zero = 0;

    SL_CHECK(zero == 1);
}
#endif
