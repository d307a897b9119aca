/*
 * tests/unit/test_rules.c - the rules (src/rules): pg_flo's rules file verbatim and its
 * end-to-end outputs, every transform and filter operator on every value class it applies to,
 * the update/delete verdicts' building blocks (unknown values), the relation the destination
 * sees, and the errors (file:line) for bad files and rules that do not fit the table.
 *
 * One executable, one case per run: `test_rules <case>`; tests/unit/rules.cmake registers each
 * case of CASES as its own ctest entry (label unit). Values are exact-size heap copies without
 * a terminating NUL, as the decoder hands them out, so AddressSanitizer sees any overread.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/plan.h"

#define CASES(X)                                                                                   \
    X(pgflo_verbatim)                                                                              \
    X(mask)                                                                                        \
    X(regex)                                                                                       \
    X(hash)                                                                                        \
    X(set_null_rename_columns)                                                                     \
    X(filter_integers)                                                                             \
    X(filter_floats)                                                                               \
    X(filter_numeric)                                                                              \
    X(filter_text)                                                                                 \
    X(filter_bool_time_other)                                                                      \
    X(filter_in_is_null)                                                                           \
    X(filter_any_all_unknown)                                                                      \
    X(operations_and_empty_deletes)                                                                \
    X(errors_file)                                                                                 \
    X(errors_table)                                                                                \
    X(errors_keyed)                                                                                \
    X(copy_text)                                                                                   \
    X(example_file)

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);              \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* ---- fixtures ---------------------------------------------------------------------------- */

#define MAXC 12

typedef struct table {
    pgh_relation rel;
    pgh_column cols[MAXC];
} table;

/* spec: "name:oid[:k]" per column ("k": key), NULL-terminated */
static void table_make(table *t, const char *name, const char *const *spec)
{
    memset(t, 0, sizeof(*t));
    t->rel.oid = 4242;
    t->rel.nspname = "public";
    t->rel.relname = (char *)name;
    t->rel.replident = 'f'; /* errors_table checks what 'd' refuses */
    t->rel.cols = t->cols;
    for (int i = 0; spec[i]; i++) {
        static char names[MAXC * 4][64];
        static int used;
        char *n = names[used++ % (MAXC * 4)];
        unsigned oid = 0;
        char k = 0;
        sscanf(spec[i], "%63[^:]:%u:%c", n, &oid, &k);
        t->cols[i] = (pgh_column){.name = n, .type_oid = oid, .typmod = -1, .is_key = k == 'k'};
        t->rel.ncols++;
    }
}

#define UNCH "\x01unchanged"

typedef struct row {
    pgh_tuple t;
    pgh_value v[MAXC];
} row;

/* One value per column: NULL for SQL NULL, UNCH for an unchanged TOAST value. */
static void row_make(row *r, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    memset(r, 0, sizeof(*r));
    for (int i = 0; i < n; i++) {
        const char *s = va_arg(ap, const char *);
        if (s == NULL) {
            r->v[i].kind = PGH_VALUE_NULL;
        } else if (strcmp(s, UNCH) == 0) {
            r->v[i].kind = PGH_VALUE_UNCHANGED;
        } else {
            size_t len = strlen(s);
            char *copy = malloc(len ? len : 1);
            memcpy(copy, s, len);
            r->v[i] = (pgh_value){.kind = PGH_VALUE_TEXT, .len = (uint32_t)len, .data = copy};
        }
    }
    va_end(ap);
    r->t = (pgh_tuple){.natts = (uint16_t)n, .values = r->v};
}

static void row_free(row *r)
{
    for (int i = 0; i < r->t.natts; i++)
        free((void *)r->v[i].data);
}

static pgh_rules *load(const char *text, const char *salt)
{
    pgh_rules *r = NULL;
    pgh_error err;
    pgh_error_clear(&err);
    pgh_rules_opts o = PGH_RULES_OPTS_INIT;
    o.hash_salt = salt;
    int rc = pgh_rules_parse(&r, "rules.yml", text, strlen(text), &o, &err);
    CHECK(rc == 0, "parse failed: %s", err.message);
    return r;
}

/* The error message of parsing text ("" when it parses). */
static const char *parse_error(const char *text)
{
    static pgh_error err;
    pgh_rules *r = NULL;
    pgh_error_clear(&err);
    pgh_rules_opts o = PGH_RULES_OPTS_INIT;
    int rc = pgh_rules_parse(&r, "rules.yml", text, strlen(text), &o, &err);
    pgh_rules_free(r);
    CHECK(rc == 0 || rc == PGH_ECONFIG, "code %d", rc);
    return rc == 0 ? "" : err.message;
}

static pgh_rules_plan *plan(const pgh_rules *r, const table *t)
{
    pgh_rules_plan *p = NULL;
    pgh_error err;
    pgh_error_clear(&err);
    int rc = pgh_rules__compile(&p, r, &t->rel, false, &err);
    CHECK(rc == 0 && p, "compile failed: %s", err.message);
    return p;
}

static const char *compile_error(const char *text, const table *t)
{
    static pgh_error err;
    pgh_rules *r = load(text, "salt");
    pgh_rules_plan *p = NULL;
    pgh_error_clear(&err);
    int rc = r ? pgh_rules__compile(&p, r, &t->rel, false, &err) : -1;
    pgh_rules__plan_free(p);
    pgh_rules_free(r);
    return rc == 0 ? "" : err.message;
}

/* Column i of the transformed row as text ("NULL", "UNCHANGED"). */
static const char *val(const pgh_rules_row *rr, int i)
{
    static char buf[8][256];
    static int k;
    char *b = buf[k++ % 8];
    const pgh_value *v = &rr->tuple.values[i];
    if (v->kind == PGH_VALUE_NULL)
        return "NULL";
    if (v->kind == PGH_VALUE_UNCHANGED)
        return "UNCHANGED";
    snprintf(b, 256, "%.*s", (int)v->len, v->data);
    return b;
}

static int transform(pgh_rules_row *out, const pgh_rules_plan *p, pgh_rules_op op, const row *r)
{
    pgh_error err;
    pgh_error_clear(&err);
    int rc = pgh_rules__transform(out, p, op, &r->t, NULL, &err);
    CHECK(rc == 0, "transform failed: %s", err.message);
    return rc;
}

static pgh_rules_match match1(const pgh_rules_plan *p, const row *r)
{
    return pgh_rules__match(p, PGH_RULES_INSERT, &r->t, false, NULL);
}

/* A one-filter rules file on table "t" (id int8 key, c of the given type), evaluated on c. */
static pgh_rules_match filt(unsigned oid, const char *op_value, const char *c)
{
    char text[512];
    snprintf(text, sizeof(text),
             "tables:\n  t:\n    - type: filter\n      column: c\n      parameters: {%s}\n",
             op_value);
    char spec[32];
    snprintf(spec, sizeof(spec), "c:%u", oid);
    const char *specs[] = {"id:20:k", spec, NULL};
    table t;
    table_make(&t, "t", specs);
    pgh_rules *r = load(text, NULL);
    pgh_rules_plan *p = r ? plan(r, &t) : NULL;
    row w;
    row_make(&w, 2, "1", c);
    pgh_rules_match m = p ? match1(p, &w) : PGH_RULES_UNKNOWN;
    row_free(&w);
    pgh_rules__plan_free(p);
    pgh_rules_free(r);
    return m;
}

#define YES PGH_RULES_MATCH
#define NO PGH_RULES_NOMATCH

/* ---- cases ------------------------------------------------------------------------------- */

/* internal/scripts/rules.yml of shayonj/pg_flo, byte for byte */
static const char PGFLO_RULES[] =
    "tables:\n"
    "  users:\n"
    "    - type: transform\n"
    "      column: email\n"
    "      parameters:\n"
    "        type: mask\n"
    "        mask_char: \"*\"\n"
    "        allow_empty_deletes: true\n"
    "      operations: [INSERT, UPDATE, DELETE]\n"
    "    - type: transform\n"
    "      column: phone\n"
    "      parameters:\n"
    "        type: regex\n"
    "        pattern: \"^(\\\\d{3})(\\\\d{3})(\\\\d{4})$\"\n"
    "        replace: \"($1) $2-$3\"\n"
    "        allow_empty_deletes: true\n"
    "      operations: [INSERT, UPDATE, DELETE]\n"
    "    - type: filter\n"
    "      column: age\n"
    "      parameters:\n"
    "        operator: \"gte\"\n"
    "        value: 18\n"
    "        allow_empty_deletes: true\n"
    "      operations: [INSERT, UPDATE, DELETE]\n"
    "    - type: transform\n"
    "      column: ssn\n"
    "      parameters:\n"
    "        type: mask\n"
    "        mask_char: \"X\"\n"
    "        allow_empty_deletes: true\n"
    "      operations: [INSERT, UPDATE, DELETE]\n";

static const char *const USERS[] = {"id:23:k", "email:25", "phone:25", "age:23", "ssn:25",
                                    "created_at:1114", NULL};

static void case_pgflo_verbatim(void)
{
    table t;
    table_make(&t, "users", USERS);
    pgh_rules *r = load(PGFLO_RULES, NULL);
    pgh_rules_plan *p = plan(r, &t);
    pgh_rules_row out;
    pgh_rules_row_init(&out);
    row john, jane, upd, delkey;
    row_make(&john, 6, "1", "john@example.com", "1234567890", "25", "123-45-6789",
             "2024-01-01 00:00:00");
    row_make(&jane, 6, "2", "jane@example.com", "9876543210", "17", "987-65-4321",
             "2024-01-01 00:00:00");
    row_make(&upd, 6, "1", "updated@example.com", "1112223333", "25", "123-45-6789",
             "2024-01-01 00:00:00");
    row_make(&delkey, 6, "2", NULL, NULL, NULL, NULL, NULL);
    CHECK(match1(p, &john) == YES, "john kept");
    CHECK(match1(p, &jane) == NO, "jane (17) filtered out");
    transform(&out, p, PGH_RULES_INSERT, &john);
    CHECK(strcmp(val(&out, 1), "j**************m") == 0, "%s", val(&out, 1));
    CHECK(strcmp(val(&out, 2), "(123) 456-7890") == 0, "%s", val(&out, 2));
    CHECK(strcmp(val(&out, 4), "1XXXXXXXXX9") == 0, "%s", val(&out, 4));
    CHECK(strcmp(val(&out, 3), "25") == 0 && strcmp(val(&out, 0), "1") == 0, "untouched");
    CHECK(pgh_rules__match(p, PGH_RULES_UPDATE, &upd.t, false, NULL) == YES, "update kept");
    transform(&out, p, PGH_RULES_UPDATE, &upd);
    CHECK(strcmp(val(&out, 1), "u*****************m") == 0, "%s", val(&out, 1));
    CHECK(strcmp(val(&out, 2), "(111) 222-3333") == 0, "%s", val(&out, 2));
    /* deletes pass with allow_empty_deletes, whatever the key-only old row carries */
    CHECK(pgh_rules__match(p, PGH_RULES_DELETE, &delkey.t, true, NULL) == YES, "delete kept");
    CHECK(pgh_rules__plan_relation(p)->ncols == 6, "columns");
    row_free(&john);
    row_free(&jane);
    row_free(&upd);
    row_free(&delkey);
    pgh_rules_row_dispose(&out);
    pgh_rules__plan_free(p);
    pgh_rules_free(r);
}

static const char *one_transform(const char *params, unsigned oid, const char *in, const char *salt)
{
    static char result[256];
    char text[512];
    snprintf(text, sizeof(text),
             "tables:\n  t:\n    - type: transform\n      column: c\n      parameters: %s\n",
             params);
    char spec[32];
    snprintf(spec, sizeof(spec), "c:%u", oid);
    const char *specs[] = {"id:20:k", spec, NULL};
    table t;
    table_make(&t, "t", specs);
    pgh_rules *r = load(text, salt);
    pgh_rules_plan *p = r ? plan(r, &t) : NULL;
    row w;
    row_make(&w, 2, "1", in);
    pgh_rules_row out;
    pgh_rules_row_init(&out);
    snprintf(result, sizeof(result), "%s", p && transform(&out, p, PGH_RULES_INSERT, &w) == 0
                                               ? val(&out, 1) : "<failed>");
    pgh_rules_row_dispose(&out);
    row_free(&w);
    pgh_rules__plan_free(p);
    pgh_rules_free(r);
    return result;
}

#define EXPECT_XF(params, oid, in, want)                                                           \
    do {                                                                                           \
        const char *got_ = one_transform(params, oid, in, "s3cret");                               \
        CHECK(strcmp(got_, want) == 0, "%s on \"%s\": got \"%s\", want \"%s\"", params,            \
              in ? in : "NULL", got_, want);                                                       \
    } while (0)

static void case_mask(void)
{
    const char *m = "{type: mask, mask_char: \"*\"}";
    EXPECT_XF(m, 25, "abcdef", "a****f");
    EXPECT_XF(m, 1043, "abc", "a*c");
    EXPECT_XF(m, 1042, "ab", "ab");       /* two characters or fewer: as pg_flo, unchanged */
    EXPECT_XF(m, 19, "a", "a");
    EXPECT_XF(m, 25, "", "");
    EXPECT_XF(m, 25, NULL, "NULL");
    EXPECT_XF(m, 25, "\xc3\xa9t\xc3\xa9s", "\xc3\xa9**s"); /* characters, not bytes */
    EXPECT_XF("{type: mask, mask_char: \"#-\"}", 25, "abcd", "a#-#-d");
}

static void case_regex(void)
{
    const char *phone = "{type: regex, pattern: \"^(\\\\d{3})(\\\\d{3})(\\\\d{4})$\", "
                        "replace: \"($1) $2-$3\"}";
    EXPECT_XF(phone, 25, "1234567890", "(123) 456-7890");
    EXPECT_XF(phone, 25, "12345", "12345"); /* no match: unchanged */
    EXPECT_XF("{type: regex, pattern: \"o\", replace: \"0\"}", 25, "foo boo", "f00 b00");
    EXPECT_XF("{type: regex, pattern: \"(?<user>[^@]+)@.*\", replace: \"${user}@x\"}", 1043,
              "bob@example.com", "bob@x");
    EXPECT_XF("{type: regex, pattern: \"[aeiou]\", replace: \"\"}", 25, "database", "dtbs");
    EXPECT_XF("{type: regex, pattern: \"(a)|(b)\", replace: \"[$2]\"}", 25, "ab", "[][b]");
    EXPECT_XF("{type: regex, pattern: \"x\", replace: \"y\"}", 25, NULL, "NULL");
    EXPECT_XF("{type: regex, pattern: \".\", replace: \"-\"}", 25, "\xc3\xa9t", "--");
}

static void case_hash(void)
{
    char a[256], b[256];
    snprintf(a, sizeof(a), "%s", one_transform("{type: hash}", 23, "42", "salt-one"));
    snprintf(b, sizeof(b), "%s", one_transform("{type: hash}", 23, "42", "salt-one"));
    CHECK(strlen(a) == 64 && strcmp(a, b) == 0, "deterministic hex: %s %s", a, b);
    snprintf(b, sizeof(b), "%s", one_transform("{type: hash}", 23, "42", "salt-two"));
    CHECK(strcmp(a, b) != 0, "the salt changes it");
    snprintf(b, sizeof(b), "%s", one_transform("{type: hash}", 23, "43", "salt-one"));
    CHECK(strcmp(a, b) != 0, "the value changes it");
    /* the well-known HMAC-SHA256 vector (key "key"): the salt keys an HMAC */
    snprintf(a, sizeof(a), "%s",
             one_transform("{type: hash}", 25, "The quick brown fox jumps over the lazy dog", "key"));
    CHECK(strcmp(a, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8") == 0,
          "HMAC: %s", a);
    EXPECT_XF("{type: hash}", 2950, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
              one_transform("{type: hash}", 25, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "s3cret"));
    EXPECT_XF("{type: hash}", 25, NULL, "NULL");
    /* the destination sees a hashed column as text */
    const char *specs[] = {"id:20:k", "c:23", NULL};
    table t;
    table_make(&t, "t", specs);
    pgh_rules *r = load("tables:\n  t:\n    - type: transform\n      column: id\n"
                        "      parameters: {type: hash}\n", "x");
    pgh_rules_plan *p = plan(r, &t);
    const pgh_relation *o = pgh_rules__plan_relation(p);
    CHECK(o->cols[0].type_oid == 25 && o->cols[0].is_key && o->cols[1].type_oid == 23, "types");
    pgh_rules__plan_free(p);
    pgh_rules_free(r);
    CHECK(strstr(parse_error("tables:\n  t:\n    - type: transform\n      column: id\n"
                             "      parameters: {type: hash}\n"),
                 "rules.yml:3: a hash transform needs a secret salt") != NULL,
          "no salt: %s", parse_error("tables:\n  t:\n    - type: transform\n      column: id\n"
                                     "      parameters: {type: hash}\n"));
}

static void case_set_null_rename_columns(void)
{
    const char *specs[] = {"id:20:k", "a:25", "b:23", "c:25", "d:1700", NULL};
    table t;
    table_make(&t, "t", specs);
    pgh_rules *r = load("tables:\n  public.t:\n"
                        "    - type: transform\n      column: a\n      parameters: {type: set_null}\n"
                        "    - type: rename\n      column: b\n      parameters: {to: bee}\n"
                        "    - type: columns\n      parameters: {exclude: [c]}\n"
                        "    - type: filter\n      column: c\n      parameters: {operator: eq, value: keep}\n",
                        NULL);
    pgh_rules_plan *p = plan(r, &t);
    const pgh_relation *o = pgh_rules__plan_relation(p);
    CHECK(o->ncols == 4, "%d columns", o->ncols);
    CHECK(strcmp(o->cols[0].name, "id") == 0 && strcmp(o->cols[1].name, "a") == 0 &&
              strcmp(o->cols[2].name, "bee") == 0 && strcmp(o->cols[3].name, "d") == 0,
          "names");
    row w, x;
    row_make(&w, 5, "1", "secret", "7", "keep", "1.5");
    row_make(&x, 5, "2", "secret", "7", "drop", "1.5");
    CHECK(match1(p, &w) == YES && match1(p, &x) == NO, "the filter reads the excluded column");
    pgh_rules_row out;
    pgh_rules_row_init(&out);
    transform(&out, p, PGH_RULES_INSERT, &w);
    CHECK(out.tuple.natts == 4 && strcmp(val(&out, 1), "NULL") == 0 &&
              strcmp(val(&out, 2), "7") == 0 && strcmp(val(&out, 3), "1.5") == 0,
          "values %s %s %s", val(&out, 1), val(&out, 2), val(&out, 3));
    row_free(&w);
    row_free(&x);
    pgh_rules_row_dispose(&out);
    pgh_rules__plan_free(p);
    pgh_rules_free(r);

    r = load("tables:\n  t:\n    - type: columns\n      parameters: {include: [id, c]}\n", NULL);
    p = plan(r, &t);
    o = pgh_rules__plan_relation(p);
    CHECK(o->ncols == 2 && strcmp(o->cols[1].name, "c") == 0, "include");
    pgh_rules__plan_free(p);
    pgh_rules_free(r);
}

static void case_filter_integers(void)
{
    static const unsigned oids[] = {21, 23, 20};
    for (int i = 0; i < 3; i++) {
        unsigned o = oids[i];
        CHECK(filt(o, "operator: eq, value: 18", "18") == YES, "eq %u", o);
        CHECK(filt(o, "operator: eq, value: 18", "19") == NO, "eq %u", o);
        CHECK(filt(o, "operator: ne, value: 18", "19") == YES, "ne %u", o);
        CHECK(filt(o, "operator: ne, value: 18", "18") == NO, "ne %u", o);
        CHECK(filt(o, "operator: gt, value: 18", "19") == YES, "gt %u", o);
        CHECK(filt(o, "operator: gt, value: 18", "18") == NO, "gt %u", o);
        CHECK(filt(o, "operator: lt, value: 18", "-5") == YES, "lt %u", o);
        CHECK(filt(o, "operator: lt, value: 18", "18") == NO, "lt %u", o);
        CHECK(filt(o, "operator: gte, value: 18", "18") == YES, "gte %u", o);
        CHECK(filt(o, "operator: gte, value: 18", "17") == NO, "gte %u", o);
        CHECK(filt(o, "operator: lte, value: 18", "18") == YES, "lte %u", o);
        CHECK(filt(o, "operator: lte, value: 18", "100") == NO, "lte %u (not text order)", o);
        CHECK(filt(o, "operator: gte, value: 18", NULL) == NO, "NULL %u", o);
        CHECK(filt(o, "operator: ne, value: 18", NULL) == NO, "NULL ne %u", o);
    }
    CHECK(filt(20, "operator: gt, value: 9007199254740993", "9007199254740994") == YES,
          "bigint beyond double precision");
    CHECK(filt(20, "operator: gt, value: 9007199254740993", "9007199254740993") == NO, "bigint");
}

static void case_filter_floats(void)
{
    static const unsigned oids[] = {700, 701};
    for (int i = 0; i < 2; i++) {
        unsigned o = oids[i];
        CHECK(filt(o, "operator: gt, value: 1.5", "1.75") == YES, "gt %u", o);
        CHECK(filt(o, "operator: gt, value: 1.5", "1.5") == NO, "gt %u", o);
        CHECK(filt(o, "operator: lte, value: 2", "1e-3") == YES, "lte %u", o);
        CHECK(filt(o, "operator: eq, value: 2", "2.0") == YES, "eq %u", o);
        CHECK(filt(o, "operator: ne, value: 2", "2.5") == YES, "ne %u", o);
        CHECK(filt(o, "operator: lt, value: 0", "-Infinity") == YES, "lt %u", o);
        CHECK(filt(o, "operator: gte, value: 0", "Infinity") == YES, "gte %u", o);
        CHECK(filt(o, "operator: gte, value: 0", "NaN") == NO, "NaN %u", o);
        CHECK(filt(o, "operator: ne, value: 0", "NaN") == NO, "NaN ne %u", o);
    }
}

static void case_filter_numeric(void)
{
    CHECK(filt(1700, "operator: eq, value: 10.5", "10.50") == YES, "eq trailing zeros");
    CHECK(filt(1700, "operator: eq, value: \"10.5\"", "010.5") == YES, "quoted as pg_flo");
    CHECK(filt(1700, "operator: gt, value: 10.5", "10.5000000000000000000001") == YES, "exact");
    CHECK(filt(1700, "operator: gt, value: 10.5", "10.5") == NO, "gt");
    CHECK(filt(1700, "operator: lt, value: -1", "-1.5") == YES, "negative");
    CHECK(filt(1700, "operator: lt, value: -1", "-0.5") == NO, "negative");
    CHECK(filt(1700, "operator: gte, value: 0", "-0.000") == YES, "-0 is 0");
    CHECK(filt(1700, "operator: lte, value: 99", "100") == NO, "lengths");
    CHECK(filt(1700, "operator: ne, value: 1", "1.000") == NO, "ne");
    CHECK(filt(1700, "operator: gt, value: 123456789012345678901234567890",
               "123456789012345678901234567891") == YES, "big");
    CHECK(filt(1700, "operator: gt, value: 1", "NaN") == NO, "NaN");
}

static void case_filter_text(void)
{
    static const unsigned oids[] = {25, 1043, 1042, 19};
    for (int i = 0; i < 4; i++) {
        unsigned o = oids[i];
        CHECK(filt(o, "operator: eq, value: abc", "abc") == YES, "eq %u", o);
        CHECK(filt(o, "operator: ne, value: abc", "abd") == YES, "ne %u", o);
        CHECK(filt(o, "operator: gt, value: abc", "abd") == YES, "gt %u", o);
        CHECK(filt(o, "operator: lt, value: abc", "ab") == YES, "lt %u", o);
        CHECK(filt(o, "operator: gte, value: b", "a") == NO, "gte %u", o);
        CHECK(filt(o, "operator: lte, value: b", "b") == YES, "lte %u", o);
        CHECK(filt(o, "operator: contains, value: \"@example\"", "x@example.com") == YES,
              "contains %u", o);
        CHECK(filt(o, "operator: contains, value: \"@example\"", "x@exampl") == NO,
              "contains %u", o);
        CHECK(filt(o, "operator: eq, value: 18", "18") == YES, "a number as text %u", o);
    }
}

static void case_filter_bool_time_other(void)
{
    CHECK(filt(16, "operator: eq, value: true", "t") == YES, "bool");
    CHECK(filt(16, "operator: eq, value: true", "f") == NO, "bool");
    CHECK(filt(16, "operator: ne, value: true", "f") == YES, "bool");
    CHECK(filt(1114, "operator: gt, value: \"2024-01-01 00:00:00\"", "2024-01-01 00:00:00.5") ==
              YES, "timestamp");
    CHECK(filt(1114, "operator: lt, value: \"2024-01-01\"", "2023-12-31 23:59:59") == YES,
          "timestamp vs date");
    CHECK(filt(1184, "operator: eq, value: \"2024-01-01T00:00:00Z\"", "2024-01-01 02:00:00+02") ==
              YES, "timestamptz offsets");
    CHECK(filt(1184, "operator: gte, value: \"2024-06-01 00:00:00+00\"",
               "2024-05-31 20:00:00-05:30") == YES, "timestamptz half hours");
    CHECK(filt(1082, "operator: lte, value: \"2024-02-29\"", "2024-02-28") == YES, "date");
    CHECK(filt(1082, "operator: gt, value: \"2024-02-29\"", "infinity") == NO, "infinity");
    CHECK(filt(2950, "operator: eq, value: \"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"",
               "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11") == YES, "uuid as text");
    CHECK(filt(2950, "operator: ne, value: \"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"",
               "b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11") == YES, "uuid as text");
}

static void case_filter_in_is_null(void)
{
    CHECK(filt(25, "operator: in, value: [active, trial]", "trial") == YES, "in text");
    CHECK(filt(25, "operator: in, value: [active, trial]", "gone") == NO, "in text");
    CHECK(filt(23, "operator: in, value: [1, 2, 3]", "3") == YES, "in int");
    CHECK(filt(1700, "operator: in, value: [1.5, 2]", "2.00") == YES, "in numeric");
    CHECK(filt(23, "operator: in, value: [1, 2, 3]", NULL) == NO, "in NULL");
    CHECK(filt(23, "operator: is_null", NULL) == YES, "is_null default true");
    CHECK(filt(23, "operator: is_null, value: true", "1") == NO, "is_null");
    CHECK(filt(23, "operator: is_null, value: false", "1") == YES, "is not null");
    CHECK(filt(2950, "operator: is_null, value: false", NULL) == NO, "is not null");
}

static void case_filter_any_all_unknown(void)
{
    const char *specs[] = {"id:20:k", "age:23", "guardian:25", NULL};
    table t;
    table_make(&t, "t", specs);
    pgh_rules *r = load("tables:\n  t:\n    - type: filter\n      parameters:\n        any:\n"
                        "          - {column: age, operator: gte, value: 18}\n"
                        "          - {column: guardian, operator: is_null, value: false}\n"
                        "    - type: filter\n      parameters:\n        all:\n"
                        "          - {column: id, operator: gt, value: 0}\n"
                        "          - {column: id, operator: lt, value: 100}\n",
                        NULL);
    pgh_rules_plan *p = plan(r, &t);
    row a, b, c, d, k, u;
    row_make(&a, 3, "1", "20", NULL);
    row_make(&b, 3, "2", "10", "mum");
    row_make(&c, 3, "3", "10", NULL);
    row_make(&d, 3, "300", "20", NULL);
    row_make(&k, 3, "4", NULL, NULL);
    row_make(&u, 3, "5", "10", UNCH);
    CHECK(match1(p, &a) == YES && match1(p, &b) == YES, "any");
    CHECK(match1(p, &c) == NO && match1(p, &d) == NO, "any / all");
    CHECK(pgh_rules__match(p, PGH_RULES_DELETE, &k.t, true, NULL) == PGH_RULES_UNKNOWN,
          "a key-only row does not carry age");
    CHECK(pgh_rules__match(p, PGH_RULES_UPDATE, &u.t, false, NULL) == PGH_RULES_UNKNOWN,
          "an unchanged value is unknown");
    CHECK(pgh_rules__match(p, PGH_RULES_UPDATE, &u.t, false, &b.t) == YES,
          "unless the old row has it");
    row_free(&a);
    row_free(&b);
    row_free(&c);
    row_free(&d);
    row_free(&k);
    row_free(&u);
    pgh_rules__plan_free(p);
    pgh_rules_free(r);
}

static void case_operations_and_empty_deletes(void)
{
    const char *specs[] = {"id:20:k", "age:23", "email:25", NULL};
    table t;
    table_make(&t, "t", specs);
    pgh_rules *r = load("tables:\n  t:\n"
                        "    - type: filter\n      column: age\n      operations: [insert]\n"
                        "      parameters: {operator: gte, value: 18}\n"
                        "    - type: transform\n      column: email\n      operations: [UPDATE]\n"
                        "      parameters: {type: mask, mask_char: \"*\"}\n",
                        NULL);
    pgh_rules_plan *p = plan(r, &t);
    row kid, key;
    row_make(&kid, 3, "1", "10", "kid@example.com");
    row_make(&key, 3, "1", NULL, NULL);
    CHECK(match1(p, &kid) == NO, "insert filtered");
    CHECK(pgh_rules__match(p, PGH_RULES_UPDATE, &kid.t, false, NULL) == YES, "update not");
    CHECK(!pgh_rules__plan_filters(p, PGH_RULES_UPDATE) && pgh_rules__plan_filters(p,
          PGH_RULES_INSERT), "filters per operation");
    pgh_rules_row out;
    pgh_rules_row_init(&out);
    transform(&out, p, PGH_RULES_INSERT, &kid);
    CHECK(strcmp(val(&out, 2), "kid@example.com") == 0, "insert not masked");
    transform(&out, p, PGH_RULES_UPDATE, &kid);
    CHECK(strcmp(val(&out, 2), "k*************m") == 0, "update masked: %s", val(&out, 2));
    pgh_rules__plan_free(p);
    pgh_rules_free(r);
    /* a DELETE filter on a column a key-only row lacks: unknown (the pipeline drops it) */
    r = load("tables:\n  t:\n    - type: filter\n      column: age\n"
             "      parameters: {operator: gte, value: 18}\n", NULL);
    p = plan(r, &t);
    CHECK(pgh_rules__match(p, PGH_RULES_DELETE, &key.t, true, NULL) == PGH_RULES_UNKNOWN,
          "unknown");
    pgh_rules__plan_free(p);
    pgh_rules_free(r);
    r = load("tables:\n  t:\n    - type: filter\n      column: age\n      allow_empty_deletes: true\n"
             "      parameters: {operator: gte, value: 18}\n", NULL);
    p = plan(r, &t);
    CHECK(pgh_rules__match(p, PGH_RULES_DELETE, &key.t, true, NULL) == YES, "rule-level key");
    pgh_rules__plan_free(p);
    pgh_rules_free(r);
    row_free(&kid);
    row_free(&key);
    pgh_rules_row_dispose(&out);
}

#define EXPECT_PARSE(text, want)                                                                   \
    do {                                                                                           \
        const char *got_ = parse_error(text);                                                      \
        CHECK(strstr(got_, want) != NULL, "got \"%s\", want \"%s\"", got_, want);                  \
    } while (0)

static void case_errors_file(void)
{
    EXPECT_PARSE("tables: [", "rules.yml:2: not valid YAML");
    EXPECT_PARSE("\"unterminated", "not valid YAML");
    EXPECT_PARSE("- a\n- b\n", "rules.yml:1: the rules file must be a mapping");
    EXPECT_PARSE("", "empty");
    EXPECT_PARSE("tabels:\n  t: []\n", "rules.yml:1: unknown key \"tabels\"");
    EXPECT_PARSE("tables: 3\n", "rules.yml:1: tables must be a mapping");
    EXPECT_PARSE("tables:\n  t: {a: 1}\n", "rules.yml:2: a table's rules must be a list");
    EXPECT_PARSE("tables:\n  t:\n    - type: frobnicate\n      column: a\n",
                 "rules.yml:3: rule type must be transform, filter, rename or columns");
    EXPECT_PARSE("tables:\n  t:\n    - type: transform\n      column: a\n"
                 "      parameters: {type: mask}\n", "rules.yml:5: a mask transform needs mask_char");
    EXPECT_PARSE("tables:\n  t:\n    - type: transform\n      column: a\n"
                 "      parameters: {type: regex, pattern: \"(\", replace: x}\n",
                 "rules.yml:5: pattern does not compile");
    EXPECT_PARSE("tables:\n  t:\n    - type: filter\n      column: a\n"
                 "      parameters: {operator: like, value: x}\n",
                 "rules.yml:5: operator must be one of");
    EXPECT_PARSE("tables:\n  t:\n    - type: filter\n      column: a\n"
                 "      parameters: {operator: eq}\n", "a filter needs a value");
    EXPECT_PARSE("tables:\n  t:\n    - type: filter\n      column: a\n"
                 "      parameters: {operator: in, value: []}\n", "empty list");
    EXPECT_PARSE("tables:\n  t:\n    - type: filter\n      column: a\n      operations: [MERGE]\n"
                 "      parameters: {operator: eq, value: 1}\n",
                 "rules.yml:5: operations: \"MERGE\" is not one of");
    EXPECT_PARSE("tables:\n  t:\n    - type: filter\n      colum: a\n",
                 "rules.yml:4: unknown rule key \"colum\"");
    EXPECT_PARSE("tables:\n  t:\n    - type: columns\n      parameters: {include: [a], "
                 "exclude: [b]}\n", "include or exclude, not both");
    EXPECT_PARSE("tables:\n  t:\n    - type: filter\n      parameters:\n        any: []\n",
                 "any is an empty list");
    EXPECT_PARSE("tables:\n  t:\n    - type: rename\n      column: a\n", "needs parameters");
    EXPECT_PARSE("tables:\n  t: []\n  t: []\n", "rules.yml:3: table t is listed twice");
    EXPECT_PARSE("tables:\n  t:\n    - type: filter\n      column: a\n"
                 "      parameters: {operator: is_null, value: maybe}\n",
                 "value of is_null must be true or false");
    EXPECT_PARSE("\x01\x02", "not valid YAML");
    EXPECT_PARSE("tables:\n  t:\n    - *nope\n", "not valid YAML");
}

#define EXPECT_COMPILE(text, want)                                                                 \
    do {                                                                                           \
        const char *got_ = compile_error(text, &t);                                                \
        CHECK(strstr(got_, want) != NULL, "got \"%s\", want \"%s\"", got_, want);                  \
    } while (0)

static void case_errors_table(void)
{
    table t;
    table_make(&t, "users", USERS);
    EXPECT_COMPILE("tables:\n  users:\n    - type: filter\n      column: agee\n"
                   "      parameters: {operator: gte, value: 18}\n",
                   "rules.yml:3: table public.users has no column \"agee\"");
    EXPECT_COMPILE("tables:\n  users:\n    - type: filter\n      column: age\n"
                   "      parameters: {operator: gte, value: eighteen}\n",
                   "rules.yml:3: value \"eighteen\" is not an integer, the type of column age");
    EXPECT_COMPILE("tables:\n  users:\n    - type: filter\n      column: age\n"
                   "      parameters: {operator: contains, value: 1}\n",
                   "operator contains does not apply to column age");
    EXPECT_COMPILE("tables:\n  users:\n    - type: transform\n      column: age\n"
                   "      parameters: {type: mask, mask_char: \"*\"}\n",
                   "rules.yml:3: a mask transform applies to text columns; column age is");
    EXPECT_COMPILE("tables:\n  users:\n    - type: columns\n      parameters: {exclude: [id]}\n",
                   "key column id cannot be left out");
    EXPECT_COMPILE("tables:\n  users:\n    - type: rename\n      column: phone\n"
                   "      parameters: {to: email}\n", "two columns named email");
    EXPECT_COMPILE("tables:\n  users:\n    - type: transform\n      column: id\n"
                   "      parameters: {type: set_null}\n", "set_null on key column id");
    EXPECT_COMPILE("tables:\n  users:\n    - type: filter\n      column: created_at\n"
                   "      parameters: {operator: gt, value: yesterday}\n",
                   "is not a date or timestamp");
    EXPECT_COMPILE("tables:\n  users:\n    - type: filter\n      parameters:\n        all:\n"
                   "          - {column: age, operator: gt, value: 1}\n"
                   "          - {column: nope, operator: gt, value: 1}\n",
                   "rules.yml:7: table public.users has no column \"nope\"");
    /* a filter on DELETE reading a column a key-only old row lacks */
    t.rel.replident = 'd';
    EXPECT_COMPILE("tables:\n  users:\n    - type: filter\n      column: age\n"
                   "      parameters: {operator: gte, value: 18}\n",
                   "rules.yml:3: the filter on age applies to DELETE, but deletes of public.users "
                   "carry only its key");
    CHECK(strcmp(compile_error("tables:\n  users:\n    - type: filter\n      column: age\n"
                               "      operations: [INSERT, UPDATE]\n"
                               "      parameters: {operator: gte, value: 18}\n    - type: filter\n"
                               "      column: id\n      parameters: {operator: gt, value: 0}\n",
                               &t), "") == 0,
          "no DELETE, or a key column: fine");
    CHECK(strcmp(compile_error(PGFLO_RULES, &t), "") == 0, "pg_flo's file: allow_empty_deletes");
    t.rel.replident = 'f';
    /* tables: every table named must be one of the run's */
    pgh_rules *r = load("tables:\n  users: []\n  public.orders: []\n", NULL);
    const char *schemas[] = {"public", "public"};
    const char *names[] = {"users", "items"};
    pgh_error err;
    pgh_error_clear(&err);
    CHECK(pgh_rules__check_tables(r, schemas, names, 2, &err) == PGH_ECONFIG &&
              strstr(err.message, "rules.yml:3: table public.orders is not one this run") != NULL,
          "%s", err.message);
    names[1] = "orders";
    pgh_error_clear(&err);
    CHECK(pgh_rules__check_tables(r, schemas, names, 2, &err) == 0, "%s", err.message);
    pgh_rules_free(r);
    /* a table without rules has no plan */
    table other;
    const char *ospec[] = {"id:23:k", NULL};
    table_make(&other, "other", ospec);
    r = load(PGFLO_RULES, NULL);
    pgh_rules_plan *p = (pgh_rules_plan *)1;
    CHECK(pgh_rules__compile(&p, r, &other.rel, false, &err) == 0 && p == NULL, "no plan");
    pgh_rules_free(r);
    /* version check of the options */
    pgh_rules_opts bad = {.version = 99};
    pgh_error_clear(&err);
    CHECK(pgh_rules_parse(&r, "x", "tables: {}", 10, &bad, &err) == PGH_ECONFIG && r == NULL &&
              strstr(err.message, "version 99") && strstr(err.message, "PGH_RULES_OPTS_INIT"),
          "version: %s", err.message);
    CHECK(pgh_rules_load(&r, "/nonexistent/rules.yml", &(pgh_rules_opts)PGH_RULES_OPTS_INIT,
                         &err) == PGH_ECONFIG, "missing file");
}

static const char *keyed_error(const char *text, const table *t)
{
    static pgh_error err;
    pgh_rules *r = load(text, "salt");
    pgh_rules_plan *p = NULL;
    pgh_error_clear(&err);
    int rc = r ? pgh_rules__compile(&p, r, &t->rel, true, &err) : -1;
    pgh_rules__plan_free(p);
    pgh_rules_free(r);
    return rc == 0 ? "" : err.message;
}

#define EXPECT_KEYED(text, want)                                                                   \
    do {                                                                                           \
        const char *got_ = keyed_error(text, &t);                                                  \
        CHECK(strstr(got_, want) != NULL, "got \"%s\", want \"%s\"", got_, want);                  \
    } while (0)
#define EXPECT_KEYED_OK(text)                                                                      \
    do {                                                                                           \
        const char *got_ = keyed_error(text, &t);                                                  \
        CHECK(got_[0] == '\0', "refused: %s", got_);                                              \
    } while (0)

/* What a keyed destination (PostgreSQL) refuses, and allow_empty_deletes there. */
static void case_errors_keyed(void)
{
    table t;
    table_make(&t, "users", USERS);
    EXPECT_KEYED_OK(PGFLO_RULES); /* REPLICA IDENTITY FULL: pg_flo's file as it is */
    EXPECT_KEYED("tables:\n  users:\n    - type: transform\n      column: id\n"
                 "      parameters: {type: hash}\n",
                 "rules.yml:3: a transform of key column id is refused with the PostgreSQL");
    EXPECT_KEYED("tables:\n  users:\n    - type: transform\n      column: age\n"
                 "      parameters: {type: hash}\n", "rules.yml:3: a hash is text, and column age");
    EXPECT_KEYED_OK("tables:\n  users:\n    - type: transform\n      column: ssn\n"
                    "      parameters: {type: hash}\n");
    /* renames (keys included) and column lists reach the destination as a column map */
    EXPECT_KEYED_OK("tables:\n  users:\n    - type: rename\n      column: phone\n"
                    "      parameters: {to: tel}\n    - type: rename\n      column: id\n"
                    "      parameters: {to: user_id}\n");
    EXPECT_KEYED_OK("tables:\n  users:\n    - type: columns\n      parameters: {exclude: [ssn]}\n");
    EXPECT_KEYED("tables:\n  users:\n    - type: columns\n      parameters: {include: [email]}\n",
                 "rules.yml:3: key column id cannot be left out: rows are found by it");
    {
        pgh_rules *r = load("tables:\n  users:\n    - type: rename\n      column: id\n"
                            "      parameters: {to: user_id}\n    - type: columns\n"
                            "      parameters: {exclude: [ssn]}\n", NULL);
        pgh_rules_plan *p = NULL;
        pgh_error err;
        pgh_error_clear(&err);
        CHECK(pgh_rules__compile(&p, r, &t.rel, true, &err) == 0 && p, "%s", err.message);
        pgh_column_map m = pgh_rules__plan_colmap(p);
        int ssn = pgh_rules__plan_column(p, "ssn");
        CHECK(m.ncolumns == t.rel.ncols && strcmp(m.source[0], "id") == 0 &&
                  strcmp(m.dest[0], "user_id") == 0 && ssn >= 0 && m.dest[ssn] == NULL &&
                  pgh_rules__plan_out_of(p, ssn) == -1 && pgh_rules__plan_out_of(p, 0) == 0,
              "column map");
        pgh_rules__plan_free(p);
        pgh_rules_free(r);
        r = load("tables:\n  users:\n    - type: transform\n      column: ssn\n"
                 "      parameters: {type: set_null}\n", NULL);
        CHECK(pgh_rules__compile(&p, r, &t.rel, true, &err) == 0 && p &&
                  pgh_rules__plan_colmap(p).ncolumns == 0, "no column map without renames");
        pgh_rules__plan_free(p);
        pgh_rules_free(r);
    }
    EXPECT_KEYED("tables:\n  users:\n    - type: filter\n      column: age\n"
                 "      operations: [INSERT]\n      parameters: {operator: gte, value: 18}\n",
                 "rules.yml:3: a filter applies to INSERT, UPDATE and DELETE");
    t.rel.replident = 'd';
    EXPECT_KEYED(PGFLO_RULES, "rules.yml:18: a filter on age needs REPLICA IDENTITY FULL on "
                              "public.users");
    EXPECT_KEYED_OK("tables:\n  users:\n    - type: filter\n      column: id\n"
                    "      parameters: {operator: gt, value: 0}\n"); /* a key column: fine */
    /* keyed: a DELETE is filtered by its old row even with allow_empty_deletes */
    t.rel.replident = 'f';
    pgh_rules *r = load(PGFLO_RULES, NULL);
    pgh_rules_plan *p = NULL;
    pgh_error err;
    pgh_error_clear(&err);
    CHECK(pgh_rules__compile(&p, r, &t.rel, true, &err) == 0 && p, "%s", err.message);
    row kid;
    row_make(&kid, 6, "2", "k@x", "1", "12", "1", NULL);
    CHECK(pgh_rules__match(p, PGH_RULES_DELETE, &kid.t, false, NULL) == NO, "strict deletes");
    row_free(&kid);
    pgh_rules__plan_free(p);
    pgh_rules_free(r);
}

/* COPY's text rows: escapes, NULL, empty fields, back to the same bytes. */
static void case_copy_text(void)
{
    static const char *const rows[] = {
        "1\tabc\t\\N\t",
        "\\\\x0102\ta\\tb\\nc\\rd\\\\e\t\\N",
        "",
        "\\N",
        "x\\\\N\ty",
    };
    pgh_rules_fields f;
    pgh_rules_fields_init(&f);
    pgh_buf out;
    pgh_buf_init(&out, 0);
    pgh_error err;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        size_t len = strlen(rows[i]);
        char *copy = malloc(len + 1);
        memcpy(copy, rows[i], len);
        CHECK(pgh_rules__copy_parse(&f, copy, len, &err) == 0, "parse");
        pgh_buf_reset(&out);
        pgh_rules__copy_encode(&out, f.values, f.n);
        CHECK(out.len == len + 1 && memcmp(out.data, rows[i], len) == 0 && out.data[len] == '\n',
              "row %zu: got [%s]", i, pgh_buf_str(&out));
        free(copy);
    }
    CHECK(pgh_rules__copy_parse(&f, "1\tabc\t\\N\t", 9, &err) == 0 && f.n == 4, "fields");
    CHECK(f.values[2].kind == PGH_VALUE_NULL && f.values[3].kind == PGH_VALUE_TEXT &&
              f.values[3].len == 0, "NULL and empty");
    CHECK(pgh_rules__copy_parse(&f, "a\\tb\\101\\x41\\q", 14, &err) == 0 && f.n == 1 &&
              f.values[0].len == 6 && memcmp(f.values[0].data, "a\tbAAq", 6) == 0,
          "escapes: %.*s", (int)f.values[0].len, f.values[0].data);
    pgh_rules_fields_dispose(&f);
    pgh_buf_dispose(&out);
}

/* examples/rules.yml loads (with a salt for its hash rule) and fits the tables it names. */
static void case_example_file(void)
{
    pgh_rules *r = NULL;
    pgh_error err;
    pgh_error_clear(&err);
    pgh_rules_opts o = PGH_RULES_OPTS_INIT;
    o.hash_salt = "example";
    CHECK(pgh_rules_load(&r, PGH_SOURCE_DIR "/examples/rules.yml", &o, &err) == 0, "%s",
          err.message);
    const char *specs[] = {"id:20:k", "customer_id:25", "email:25", "notes:25",
                           "password_hash:25", "status:25", "balance:1700", "closed_at:1184",
                           NULL};
    table users, accounts;
    table_make(&users, "users", USERS);
    table_make(&accounts, "accounts", specs);
    users.rel.replident = accounts.rel.replident = 'd';
    pgh_rules_plan *p = r ? plan(r, &users) : NULL;
    pgh_rules__plan_free(p);
    p = r ? plan(r, &accounts) : NULL;
    CHECK(p && pgh_rules__plan_relation(p)->ncols == 7, "accounts");
    pgh_rules__plan_free(p);
    pgh_rules_free(r);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_rules CASE\n");
        return 2;
    }
#define X(name)                                                                                    \
    if (strcmp(argv[1], #name) == 0) {                                                             \
        case_##name();                                                                             \
        if (failures)                                                                              \
            return 1;                                                                              \
        puts("ok " #name);                                                                         \
        return 0;                                                                                  \
    }
    CASES(X)
#undef X
    fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
}
