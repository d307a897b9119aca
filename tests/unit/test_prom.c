/*
 * tests/unit/test_prom.c - the Prometheus text writer (src/util/prom.c): exact output for
 * HELP/TYPE lines, label values with backslash, double quote and newline, HELP text escapes,
 * samples without labels, and values (integers, fractions, NaN, +Inf, -Inf, large counters).
 *
 * One executable, one case per run: `test_prom <case>`. tests/unit/prom.cmake reads the CASES
 * list below and registers each case as its own ctest entry (label unit).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/prom.h"

#define CASES(X)                                                                                   \
    X(family_lines)                                                                                \
    X(help_escapes)                                                                                \
    X(label_escapes)                                                                               \
    X(labels_several)                                                                              \
    X(no_labels)                                                                                   \
    X(values_whole)                                                                                \
    X(values_fraction)                                                                             \
    X(values_special)                                                                              \
    X(capped_buffer)

static int g_failed;

/* Compare the buffer's text with want; print both on a difference. */
static void expect(pgh_buf *b, const char *want, const char *what)
{
    const char *got = pgh_buf_str(b);
    if (pgh_buf_failed(b) || strcmp(got, want) != 0) {
        fprintf(stderr, "%s:\n--- want\n%s--- got%s\n%s---\n", what, want,
                pgh_buf_failed(b) ? " (buffer failed)" : "", got);
        g_failed = 1;
    }
    pgh_buf_reset(b);
}

static void family_lines(pgh_buf *b)
{
    pgh_prom_family(b, "pghost_rows_copied_total", "counter", "Rows copied, per table.");
    expect(b,
           "# HELP pghost_rows_copied_total Rows copied, per table.\n"
           "# TYPE pghost_rows_copied_total counter\n",
           "HELP then TYPE");
    pgh_prom_family(b, "pghost_phase", "gauge", "The phase.");
    expect(b, "# HELP pghost_phase The phase.\n# TYPE pghost_phase gauge\n", "a gauge");
}

/* HELP text escapes backslash and newline; a double quote stays as it is. */
static void help_escapes(pgh_buf *b)
{
    pgh_prom_family(b, "x", "untyped", "a\\b \"q\"\nnext");
    expect(b, "# HELP x a\\\\b \"q\"\\nnext\n# TYPE x untyped\n", "HELP escapes");
}

static void label_escapes(pgh_buf *b)
{
    const char *l[2] = {"table", "we\\ird \"name\"\nline2"};
    pgh_prom_sample(b, "pghost_rows_copied_total", l, 1, 3);
    expect(b, "pghost_rows_copied_total{table=\"we\\\\ird \\\"name\\\"\\nline2\"} 3\n",
           "label value escapes");
    const char *plain[2] = {"table", "public.t"};
    pgh_prom_sample(b, "m", plain, 1, 1);
    expect(b, "m{table=\"public.t\"} 1\n", "a plain label value");
    const char *empty[2] = {"table", ""};
    pgh_prom_sample(b, "m", empty, 1, 0);
    expect(b, "m{table=\"\"} 0\n", "an empty label value");
    const char *utf8[2] = {"table", "public.t\xc3\xa9"};
    pgh_prom_sample(b, "m", utf8, 1, 0);
    expect(b, "m{table=\"public.t\xc3\xa9\"} 0\n", "UTF-8 passes unchanged");
}

static void labels_several(pgh_buf *b)
{
    const char *l[4] = {"table", "public.t", "kind", "a\"b"};
    pgh_prom_sample(b, "m_total", l, 2, 7);
    expect(b, "m_total{table=\"public.t\",kind=\"a\\\"b\"} 7\n", "two labels");
}

static void no_labels(pgh_buf *b)
{
    pgh_prom_sample(b, "pghost_ready", NULL, 0, 1);
    expect(b, "pghost_ready 1\n", "no braces without labels");
}

static void values_whole(pgh_buf *b)
{
    pgh_prom_sample(b, "m", NULL, 0, 0);
    pgh_prom_sample(b, "m", NULL, 0, -3);
    pgh_prom_sample(b, "m", NULL, 0, 123456789012.0);
    pgh_prom_sample(b, "m", NULL, 0, 9007199254740991.0); /* 2^53 - 1: still exact */
    expect(b, "m 0\nm -3\nm 123456789012\nm 9007199254740991\n", "whole values as integers");
    /* beyond 2^53 a double is no longer exact: %.17g, which strtod reads back to the same */
    pgh_prom_sample(b, "m", NULL, 0, 18446744073709551615.0);
    const char *got = pgh_buf_str(b);
    double back = strtod(got + 2, NULL);
    if (strncmp(got, "m ", 2) != 0 || back != 18446744073709551615.0 ||
        got[strlen(got) - 1] != '\n') {
        fprintf(stderr, "a large counter: %s\n", got);
        g_failed = 1;
    }
    pgh_buf_reset(b);
}

static void values_fraction(pgh_buf *b)
{
    pgh_prom_sample(b, "m", NULL, 0, 0.5);
    pgh_prom_sample(b, "m", NULL, 0, -1.25);
    expect(b, "m 0.5\nm -1.25\n", "fractions");
    pgh_prom_sample(b, "m", NULL, 0, 0.1);
    const char *got = pgh_buf_str(b);
    if (strtod(got + 2, NULL) != 0.1) {
        fprintf(stderr, "0.1 does not read back: %s\n", got);
        g_failed = 1;
    }
    pgh_buf_reset(b);
}

static void values_special(pgh_buf *b)
{
    pgh_prom_sample(b, "m", NULL, 0, NAN);
    pgh_prom_sample(b, "m", NULL, 0, INFINITY);
    pgh_prom_sample(b, "m", NULL, 0, -INFINITY);
    expect(b, "m NaN\nm +Inf\nm -Inf\n", "NaN and infinities in Prometheus' spelling");
}

/* A buffer at its cap fails (sticky) instead of writing a cut line. */
static void capped_buffer(pgh_buf *b)
{
    (void)b;
    pgh_buf small;
    pgh_buf_init(&small, 16);
    pgh_prom_family(&small, "pghost_a_rather_long_name_total", "counter", "help");
    if (!pgh_buf_failed(&small)) {
        fprintf(stderr, "a family longer than the cap did not fail the buffer\n");
        g_failed = 1;
    }
    pgh_buf_dispose(&small);
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "";
    pgh_buf b;
    pgh_buf_init(&b, 1 << 20);
    bool found = false;
#define RUN(c)                                                                                     \
    if (strcmp(name, #c) == 0) {                                                                   \
        c(&b);                                                                                     \
        found = true;                                                                              \
    }
    CASES(RUN)
#undef RUN
    pgh_buf_dispose(&b);
    if (!found) {
        fprintf(stderr, "usage: test_prom CASE (unknown case \"%s\")\n", name);
        return 2;
    }
    if (g_failed == 0)
        printf("PASS %s\n", name);
    return g_failed;
}
