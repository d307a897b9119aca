/*
 * How the PostgreSQL apply names a row whose statement the destination refused
 * (src/dest/postgres/failure.c): the table and the key, names unquoted, values kept within
 * PIPE_KEY_MAX bytes, one line. (The column of a refused value comes from the server's context,
 * which only a server gives: tests/integration/it_filters.c, case toobig.)
 *
 * One executable, one case per run: `test_apply_failure <case>`. apply_failure.cmake reads the
 * CASES list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dest/postgres/apply_internal.h"

#define CASES(X)                                                                                   \
    X(one_key)                                                                                     \
    X(composite_key)                                                                               \
    X(long_key_cut)                                                                                \
    X(quoted_names)                                                                                \
    X(no_key)                                                                                      \
    X(merged_rows)

static int g_failed;

/* A relation of ncols columns named by idents, keyed by the first nkeys. */
static void rel_init(apply_rel *r, pgh_table_info *t, char **idents, int ncols, int *key_att,
                     int nkeys)
{
    memset(r, 0, sizeof(*r));
    memset(t, 0, sizeof(*t));
    t->schema = "public";
    t->name = "t";
    r->dst = t;
    r->ncols = ncols;
    r->col_ident = idents;
    r->nkeys = nkeys;
    r->key_att = key_att;
}

/* The message err gets for a failure of a row change whose new tuple holds values. */
static void expect(const apply_rel *r, const char *const *values, int n, const char *want)
{
    pgh_value v[8];
    for (int i = 0; i < n; i++)
        v[i] = (pgh_value){.kind = PGH_VALUE_TEXT, .len = (uint32_t)strlen(values[i]),
                           .data = values[i]};
    pgh_tuple tup = {.natts = (uint16_t)n, .values = v};
    pipe_key key;
    pgh_apply__key_keep(&key, r, &tup);
    pgh_error err = {0};
    pgh_error_set(&err, PGH_ESQL, "applying a change: boom");
    pgh_apply__name_failure(&err, r, NULL, &key, 0, NULL, NULL);
    if (strcmp(err.message, want) != 0) {
        fprintf(stderr, "FAIL: got  \"%s\"\n      want \"%s\"\n", err.message, want);
        g_failed++;
    }
}

static void one_key(void)
{
    char *idents[] = {"\"id\"", "\"n\""};
    int keys[] = {0};
    apply_rel r;
    pgh_table_info t;
    rel_init(&r, &t, idents, 2, keys, 1);
    const char *values[] = {"2", "1099511627776"};
    expect(&r, values, 2, "public.t, key id = 2: applying a change: boom");
}

static void composite_key(void)
{
    char *idents[] = {"\"v\"", "\"a\"", "\"b\""};
    int keys[] = {2, 1}; /* key order differs from column order */
    apply_rel r;
    pgh_table_info t;
    rel_init(&r, &t, idents, 3, keys, 2);
    const char *values[] = {"secret", "1", "x\ny"};
    expect(&r, values, 3, "public.t, key (b, a) = (x?y, 1): applying a change: boom");
}

static void long_key_cut(void)
{
    char *idents[] = {"\"a\"", "\"b\""};
    int keys[] = {0, 1};
    apply_rel r;
    pgh_table_info t;
    rel_init(&r, &t, idents, 2, keys, 2);
    char big[200];
    memset(big, 'k', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    const char *values[] = {big, "2"};
    char want[256];
    snprintf(want, sizeof(want), "public.t, key (a, b) = (%.*s...): applying a change: boom",
             PIPE_KEY_MAX - 1, big);
    expect(&r, values, 2, want);
}

static void quoted_names(void)
{
    char *idents[] = {"\"Key \"\"x\"\"\"", "\"n\""};
    int keys[] = {0};
    apply_rel r;
    pgh_table_info t;
    rel_init(&r, &t, idents, 2, keys, 1);
    const char *values[] = {"7", "0"};
    expect(&r, values, 2, "public.t, key Key \"x\" = 7: applying a change: boom");
}

/* The message for a failure without a key kept, of a statement of merged rows (0: not merged). */
static void expect_keyless(uint32_t merged, const char *want)
{
    char *idents[] = {"\"id\""};
    int keys[] = {0};
    apply_rel r;
    pgh_table_info t;
    rel_init(&r, &t, idents, 1, keys, 1);
    pipe_key key = {0};
    pgh_error err = {0};
    pgh_error_set(&err, PGH_ESQL, "applying a change: boom");
    pgh_apply__name_failure(&err, &r, NULL, &key, merged, NULL, NULL);
    if (strcmp(err.message, want) != 0) {
        fprintf(stderr, "FAIL: got  \"%s\"\n      want \"%s\"\n", err.message, want);
        g_failed++;
    }
}

/* No key kept: the table alone. */
static void no_key(void)
{
    expect_keyless(0, "public.t: applying a change: boom");
}

/* A merged statement of several rows without their keys: how many rows it carried. */
static void merged_rows(void)
{
    expect_keyless(64, "public.t, one of 64 merged rows: applying a change: boom");
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "";
    bool found = false;
#define RUN(c)                                                                                     \
    if (strcmp(name, #c) == 0) {                                                                   \
        c();                                                                                       \
        found = true;                                                                              \
    }
    CASES(RUN)
#undef RUN
    if (!found) {
        fprintf(stderr, "usage: test_apply_failure CASE (unknown case \"%s\")\n", name);
        return 2;
    }
    if (g_failed == 0)
        printf("PASS %s\n", name);
    return g_failed;
}
