/*
 * tests/unit/unit_check.h - CHECK(cond) for the unit tests that stop at their first failure: it
 * prints the file, the line and the condition to stderr and exits with status 1.
 */
#ifndef PGH_TESTS_UNIT_CHECK_H
#define PGH_TESTS_UNIT_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#endif
