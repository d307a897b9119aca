/*
 * tests/unit/test_opts_version.c - every internal options struct carries a version, and the
 * function taking it refuses another version (or NULL) with PGH_ECONFIG and a message naming
 * the INIT macro, before it allocates or connects anything. (The public structs' checks are
 * tested with their destinations and the pipeline.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dest/postgres/apply.h"
#include "pghost/error.h"
#include "schema/schema.h"
#include "source/copy.h"
#include "source/stream.h"
#include "unit_check.h"

/* rc and err must say: wrong version, use macro. */
static void expect_refused(int rc, const pgh_error *err, const char *macro)
{
    CHECK(rc == PGH_ECONFIG);
    CHECK(err->code == PGH_ECONFIG);
    CHECK(strstr(err->message, "version 99") != NULL);
    CHECK(strstr(err->message, macro) != NULL);
}

static void copy_opts(void)
{
    pgh_copy_opts o = PGH_COPY_OPTS_INIT;
    o.version = 99;
    pgh_error err = {0};
    expect_refused(pgh_copy_run(NULL, 0, &o, &err), &err, "PGH_COPY_OPTS_INIT");
    pgh_error_clear(&err);
    CHECK(pgh_copy_run(NULL, 0, NULL, &err) == PGH_ECONFIG);
}

static void stream_opts(void)
{
    pgh_stream_opts o = PGH_STREAM_OPTS_INIT;
    o.version = 99;
    pgh_error err = {0};
    pgh_stream *s = (pgh_stream *)&o;
    expect_refused(pgh_stream_open(&s, &o, &err), &err, "PGH_STREAM_OPTS_INIT");
    CHECK(s == NULL);
}

static void apply_opts(void)
{
    pgh_apply_opts o = PGH_APPLY_OPTS_INIT;
    o.version = 99;
    pgh_error err = {0};
    pgh_sink *s = (pgh_sink *)&o;
    expect_refused(pgh_apply_open(&s, &o, &err), &err, "PGH_APPLY_OPTS_INIT");
    CHECK(s == NULL);
}

static void schema_build_opts(void)
{
    pgh_schema_build_opts o = PGH_SCHEMA_BUILD_OPTS_INIT;
    o.version = 99;
    pgh_error err = {0};
    int built = -1;
    expect_refused(pgh_schema_build_deferred(&built, NULL, &o, &err), &err,
                   "PGH_SCHEMA_BUILD_OPTS_INIT");
    CHECK(built == 0);
}

int main(void)
{
    copy_opts();
    stream_opts();
    apply_opts();
    schema_build_opts();
    puts("ok");
    return 0;
}
