/* pl_check: the one main() every unit suite shares. */
#ifndef PL_CHECK_H
#define PL_CHECK_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

static inline int pl_check_main(Suite *s, int argc, char **argv)
{
    SRunner *sr = srunner_create(s);
    int failed;
    (void)argc;
    (void)argv;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
