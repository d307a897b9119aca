/*
 * tests/unit/test_json_sink.c - the JSON-lines destination: exact output lines for hand-built
 * changes and existing rows, value typing, the table filter, flush positions, the state file
 * and write failures, through the pgh_destination of pghost/json.h (a change is handed to the
 * callback its kind names, as the pipeline does).
 *
 * One executable, one case per run: `test_json_sink <case>`. tests/unit/sink.cmake reads the
 * CASES list below and registers each case as its own ctest entry (label unit).
 *
 * Values are handed to the sink in exact-size heap copies without a terminating NUL, as the
 * decoder hands them out, so AddressSanitizer catches any read past a value's length. Every
 * output line is also parsed back with jansson: it must be one valid JSON object.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pghost/json.h"
#include "unit_check.h"

/* The expected lines are split one JSON member group per source line, which reads like the
 * output; the formatter would re-split them mid-member, so it stays off for the cases. */
/* clang-format off */

#define CASES(X)                                                                                   \
    X(insert_integers)                                                                             \
    X(insert_floats)                                                                               \
    X(insert_numeric_bool)                                                                         \
    X(insert_json)                                                                                 \
    X(insert_text_escapes)                                                                         \
    X(insert_other_types)                                                                          \
    X(insert_invalid_utf8)                                                                         \
    X(insert_binary_value)                                                                         \
    X(update_unchanged_old_key)                                                                    \
    X(update_key_same_and_no_old)                                                                  \
    X(update_full_identity)                                                                        \
    X(docs_example)                                                                                \
    X(delete_key)                                                                                  \
    X(delete_full_identity)                                                                        \
    X(truncate_two_relations)                                                                      \
    X(unmapped_tables_skipped)                                                                     \
    X(no_line_for_other_kinds)                                                                     \
    X(commit_time_and_lsn_forms)                                                                   \
    X(flush_returns_last_commit)                                                                   \
    X(flush_regular_file)                                                                          \
    X(large_value)                                                                                 \
    X(write_error_read_only)                                                                       \
    X(write_error_closed_pipe)                                                                     \
    X(change_outside_transaction)                                                                  \
    X(tuple_column_count_mismatch)                                                                 \
    X(open_bad_options)                                                                            \
    X(snapshot_lines)                                                                              \
    X(snapshot_seq_two_calls)                                                                      \
    X(snapshot_reload)                                                                             \
    X(snapshot_unconfigured_skipped)                                                               \
    X(snapshot_unchanged_is_error)                                                                 \
    X(destination_truncate_seq)                                                                    \
    X(destination_flush_no_state)                                                                  \
    X(destination_write_error)                                                                     \
    X(destination_new_checks)                                                                      \
    X(state_round_trip)                                                                            \
    X(state_not_before_flush)                                                                      \
    X(state_write_position)                                                                        \
    X(state_slot_mismatch)                                                                         \
    X(state_garbled)                                                                               \
    X(state_write_failure)

/* ---- checks ---- */

#define CHECK_INT(got, want)                                                                       \
    do {                                                                                           \
        long long got_ = (long long)(got);                                                         \
        long long want_ = (long long)(want);                                                       \
        if (got_ != want_) {                                                                       \
            fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #got, got_,  \
                    want_);                                                                        \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(err, needle)                                                                     \
    do {                                                                                           \
        if (strstr((err)->message, (needle)) == NULL) {                                            \
            fprintf(stderr, "%s:%d: error message \"%s\" does not contain \"%s\"\n", __FILE__,     \
                    __LINE__, (err)->message, (needle));                                           \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* ---- hand-built stream ---- */

/* Exact-size copies handed to the sink; freed at the end of each case. */
static void *allocs[1024];
static int nallocs;

static void *track(void *p)
{
    CHECK(p != NULL);
    CHECK(nallocs < (int)(sizeof(allocs) / sizeof(allocs[0])));
    allocs[nallocs++] = p;
    return p;
}

static void free_tracked(void)
{
    while (nallocs > 0)
        free(allocs[--nallocs]);
}

#define COL(name, oid, key) {(char *)(name), (oid), -1, (key)}
#define T(s) {PGH_VALUE_TEXT, (uint32_t)(sizeof(s) - 1), (s)}
#define NUL {PGH_VALUE_NULL, 0, NULL}
#define UNCH {PGH_VALUE_UNCHANGED, 0, NULL}
#define NVALS(a) (uint16_t)(sizeof(a) / sizeof((a)[0]))

/* A tuple of heap copies of vals: text data without a NUL, exactly len bytes. */
static pgh_tuple tuple_of(const pgh_value *vals, uint16_t n)
{
    pgh_value *copy = track(calloc(n ? n : 1, sizeof(*copy)));
    for (uint16_t i = 0; i < n; i++) {
        copy[i] = vals[i];
        if (vals[i].kind == PGH_VALUE_TEXT && vals[i].len > 0) {
            char *d = track(malloc(vals[i].len));
            memcpy(d, vals[i].data, vals[i].len);
            copy[i].data = d;
        }
    }
    return (pgh_tuple){n, copy};
}

#define TUP(vals) tuple_of((vals), NVALS(vals))

static pgh_relation rel_of(uint32_t oid, const char *nsp, const char *name, pgh_column *cols,
                           uint16_t ncols)
{
    return (pgh_relation){oid, (char *)nsp, (char *)name, 'd', ncols, cols};
}

#define REL(oid, nsp, name, cols) rel_of((oid), (nsp), (name), (cols), NVALS(cols))

/* The transaction most cases use, and the line prefix it produces. */
#define TXN_FINAL 0x16B37A0
#define TXN_TIME INT64_C(848775845123456) /* 2026-11-23 19:04:05.123456 UTC */
#define TXN_XID 742
#define TXN                                                                                        \
    ",\"commit_lsn\":\"0/16B37A0\",\"commit_time\":\"2026-11-23T19:04:05.123456Z\",\"xid\":742"
#define HEAD(table, op, lsn) "{\"table\":\"" table "\",\"op\":\"" op "\",\"lsn\":\"" lsn "\"" TXN

static pgh_change begin_c(pgh_lsn final_lsn, int64_t commit_time, uint32_t xid)
{
    pgh_change c = {.kind = PGH_CHANGE_BEGIN, .wal_start = final_lsn - 0x100};
    c.u.begin.final_lsn = final_lsn;
    c.u.begin.commit_time = commit_time;
    c.u.begin.xid = xid;
    return c;
}

static pgh_change commit_c(pgh_lsn commit_lsn, pgh_lsn end_lsn)
{
    pgh_change c = {.kind = PGH_CHANGE_COMMIT, .wal_start = commit_lsn};
    c.u.commit.commit_lsn = commit_lsn;
    c.u.commit.end_lsn = end_lsn;
    return c;
}

static pgh_change insert_c(pgh_lsn lsn, const pgh_relation *rel, pgh_tuple newtup)
{
    pgh_change c = {.kind = PGH_CHANGE_INSERT, .wal_start = lsn};
    c.u.insert.rel = rel;
    c.u.insert.newtup = newtup;
    return c;
}

static pgh_change update_c(pgh_lsn lsn, const pgh_relation *rel, char old_kind, pgh_tuple oldtup,
                           pgh_tuple newtup)
{
    pgh_change c = {.kind = PGH_CHANGE_UPDATE, .wal_start = lsn};
    c.u.update.rel = rel;
    c.u.update.old_kind = old_kind;
    c.u.update.oldtup = oldtup;
    c.u.update.newtup = newtup;
    return c;
}

static pgh_change delete_c(pgh_lsn lsn, const pgh_relation *rel, char old_kind, pgh_tuple oldtup)
{
    pgh_change c = {.kind = PGH_CHANGE_DELETE, .wal_start = lsn};
    c.u.del.rel = rel;
    c.u.del.old_kind = old_kind;
    c.u.del.oldtup = oldtup;
    return c;
}

/* ---- the sink under test, writing to a memory stream ---- */

/* The destination under test, opened as a pipeline opens it, for tables (none: every one). */
typedef struct tsink {
    pgh_destination *d; /* owned */
    pgh_config cfg;     /* what open sees: the tables, nothing else */
} tsink;

typedef struct capture {
    char *data;     /* owned by the memory stream until fclose */
    size_t len;
    FILE *f;        /* owned */
    tsink *sink;    /* owned */
} capture;

static tsink *open_on(FILE *f, const pgh_table_map *tables, int ntables)
{
    pgh_json_opts opts = PGH_JSON_OPTS_INIT;
    opts.out = f;
    tsink *s = calloc(1, sizeof(*s));
    CHECK(s != NULL);
    s->cfg.tables = (pgh_table_map *)tables;
    s->cfg.ntables = (size_t)ntables;
    pgh_error err = {0};
    int rc = pgh_json_destination_new(&s->d, &opts, &err);
    pgh_destination_info info = {.config = &s->cfg, .slot = "s"};
    if (rc == 0)
        rc = pgh_destination_ops_of(s->d)->open(pgh_destination_user(s->d), &info, &err);
    if (rc != 0)
        fprintf(stderr, "open: %s\n", err.message);
    CHECK_INT(rc, 0);
    return s;
}

/* The callback of c's kind, with the commit's position after it. */
static int tsink_write(tsink *s, const pgh_change *c, pgh_error *err)
{
    const pgh_destination_ops *ops = pgh_destination_ops_of(s->d);
    void *u = pgh_destination_user(s->d);
    pgh_position after = {.lsn = c->kind == PGH_CHANGE_COMMIT ? c->u.commit.end_lsn : 0};
    switch (c->kind) {
    case PGH_CHANGE_BEGIN:
        return ops->begin(u, c, err);
    case PGH_CHANGE_COMMIT:
        return ops->commit(u, c, &after, err);
    case PGH_CHANGE_RELATION:
    case PGH_CHANGE_TYPE:
        return ops->relation(u, c, err);
    case PGH_CHANGE_MESSAGE:
        return ops->message(u, c, err);
    case PGH_CHANGE_TRUNCATE:
        return ops->truncate(u, c, err);
    case PGH_CHANGE_ORIGIN:
        return 0;
    default: /* row changes, and kinds no callback takes: change must refuse those */
        return ops->change(u, c, err);
    }
}

static int tsink_flush(tsink *s, pgh_lsn *out, pgh_error *err)
{
    return pgh_destination_ops_of(s->d)->flush(pgh_destination_user(s->d), out, err);
}

static void tsink_free(tsink *s)
{
    if (s == NULL)
        return;
    pgh_destination_ops_of(s->d)->close(pgh_destination_user(s->d));
    pgh_destination_free(s->d);
    free(s);
}

static void cap_open(capture *cap, const pgh_table_map *tables, int ntables)
{
    memset(cap, 0, sizeof(*cap));
    cap->f = open_memstream(&cap->data, &cap->len);
    CHECK(cap->f != NULL);
    cap->sink = open_on(cap->f, tables, ntables);
}

static void cap_close(capture *cap)
{
    tsink_free(cap->sink);
    fclose(cap->f);
    free(cap->data);
    free_tracked();
}

static void feed(tsink *sink, pgh_change c)
{
    pgh_error err = {0};
    int rc = tsink_write(sink, &c, &err);
    if (rc != 0)
        fprintf(stderr, "write of '%c': %s\n", (char)c.kind, err.message);
    CHECK_INT(rc, 0);
}

/* Feed c expecting failure code with a message containing needle. */
static void feed_fails(tsink *sink, pgh_change c, int code, const char *needle)
{
    pgh_error err = {0};
    CHECK_INT(tsink_write(sink, &c, &err), code);
    CHECK_INT(err.code, code);
    CHECK_MSG(&err, needle);
}

static pgh_lsn flush_ok(tsink *sink)
{
    pgh_lsn lsn = 99;
    pgh_error err = {0};
    int rc = tsink_flush(sink, &lsn, &err);
    if (rc != 0)
        fprintf(stderr, "flush: %s\n", err.message);
    CHECK_INT(rc, 0);
    return lsn;
}

/* Every line of text is one JSON object (jansson parses it; big integers and embedded json
 * numbers past int64 parse as reals, which is enough to prove validity). */
static void check_lines_parse(const char *text, size_t len)
{
    size_t start = 0;
    while (start < len) {
        const char *nl = memchr(text + start, '\n', len - start);
        CHECK(nl != NULL); /* every line ends with a newline */
        size_t n = (size_t)(nl - (text + start));
        json_error_t jerr;
        json_t *j = json_loadb(text + start, n, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &jerr);
        if (j == NULL)
            fprintf(stderr, "line does not parse (%s): %.*s\n", jerr.text, (int)n, text + start);
        CHECK(j != NULL && json_is_object(j));
        json_decref(j);
        start += n + 1;
    }
}

/* The whole output so far equals want. */
static void expect_output(capture *cap, const char *want)
{
    CHECK_INT(fflush(cap->f), 0);
    if (cap->len != strlen(want) || memcmp(cap->data, want, cap->len) != 0) {
        fprintf(stderr, "output differs\n--- got\n%.*s--- want\n%s---\n", (int)cap->len,
                cap->data ? cap->data : "", want);
        exit(1);
    }
    check_lines_parse(cap->data, cap->len);
}

/* One transaction holding one insert of vals into rel; the output must be exactly want. */
static void expect_insert(const pgh_relation *rel, const pgh_value *vals, uint16_t n,
                          const char *want)
{
    capture cap;
    cap_open(&cap, NULL, 0);
    feed(cap.sink, begin_c(TXN_FINAL, TXN_TIME, TXN_XID));
    feed(cap.sink, insert_c(0x16B3748, rel, tuple_of(vals, n)));
    feed(cap.sink, commit_c(TXN_FINAL, TXN_FINAL + 0x30));
    expect_output(&cap, want);
    CHECK_INT(flush_ok(cap.sink), TXN_FINAL + 0x30);
    cap_close(&cap);
}

/* ---- cases: values ---- */

static void insert_integers(void)
{
    pgh_column cols[] = {COL("id", 20, true),  COL("max", 20, false), COL("min", 20, false),
                         COL("i2", 21, false), COL("i4", 23, false),  COL("o", 26, false),
                         COL("zero", 23, false), COL("over", 20, false), COL("junk", 23, false),
                         COL("plus", 23, false), COL("n", 20, false)};
    pgh_relation rel = REL(16384, "public", "ints", cols);
    pgh_value vals[] = {T("1"),      T("9223372036854775807"), T("-9223372036854775808"),
                        T("-32768"), T("2147483647"),          T("4294967295"),
                        T("0"),      T("9223372036854775808"), T("12abc"),
                        T("+5"),     NUL};
    expect_insert(&rel, vals, NVALS(vals),
                  HEAD("public.ints", "insert", "0/16B3748") ",\"key\":{\"id\":1},\"new\":{"
                  "\"id\":1,\"max\":9223372036854775807,\"min\":-9223372036854775808,"
                  "\"i2\":-32768,\"i4\":2147483647,\"o\":4294967295,\"zero\":0,"
                  "\"over\":\"9223372036854775808\",\"junk\":\"12abc\",\"plus\":\"+5\","
                  "\"n\":null}}\n");
}

/* Finite floats are written as PostgreSQL printed them, so they read back to the same double;
 * NaN and the infinities are strings. */
static void insert_floats(void)
{
    pgh_column cols[] = {COL("id", 23, true),     COL("big", 701, false),
                         COL("tenth", 701, false), COL("negzero", 701, false),
                         COL("nan", 701, false),   COL("inf", 701, false),
                         COL("ninf", 701, false),  COL("max", 701, false),
                         COL("denorm", 701, false), COL("f4", 700, false),
                         COL("f4small", 700, false), COL("f4nan", 700, false),
                         COL("over", 701, false),  COL("notjson", 701, false)};
    pgh_relation rel = REL(16385, "public", "floats", cols);
    pgh_value vals[] = {T("1"),        T("1e+300"),  T("0.1"),
                        T("-0"),       T("NaN"),     T("Infinity"),
                        T("-Infinity"), T("1.7976931348623157e+308"), T("5e-324"),
                        T("3.4028235e+38"), T("1.5e-05"), T("NaN"),
                        T("1e400"),    T(".5")};
    const char *want = HEAD("public.floats", "insert", "0/16B3748")
        ",\"key\":{\"id\":1},\"new\":{\"id\":1,\"big\":1e+300,\"tenth\":0.1,\"negzero\":-0.0,"
        "\"nan\":\"NaN\",\"inf\":\"Infinity\",\"ninf\":\"-Infinity\","
        "\"max\":1.7976931348623157e+308,\"denorm\":5e-324,\"f4\":3.4028235e+38,"
        "\"f4small\":1.5e-05,\"f4nan\":\"NaN\",\"over\":\"1e400\",\"notjson\":\".5\"}}\n";
    expect_insert(&rel, vals, NVALS(vals), want);

    /* The numbers read back to the same doubles as the text that was sent. */
    json_error_t jerr;
    const char *obj = strstr(want, "\"new\":") + 6;
    json_t *j = json_loadb(obj, strlen(obj) - 2, 0, &jerr);
    CHECK(j != NULL);
    const char *names[] = {"big", "tenth", "negzero", "max", "denorm", "f4", "f4small"};
    const char *texts[] = {"1e+300", "0.1", "-0", "1.7976931348623157e+308", "5e-324",
                           "3.4028235e+38", "1.5e-05"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        json_t *v = json_object_get(j, names[i]);
        CHECK(json_is_real(v));
        double want_d = strtod(texts[i], NULL);
        CHECK(memcmp(&(double){json_real_value(v)}, &want_d, sizeof(double)) == 0);
    }
    json_decref(j);
}

static void insert_numeric_bool(void)
{
    pgh_column cols[] = {COL("id", 23, true),     COL("price", 1700, false),
                         COL("huge", 1700, false), COL("nan", 1700, false),
                         COL("yes", 16, false),   COL("no", 16, false),
                         COL("odd", 16, false)};
    pgh_relation rel = REL(16386, "public", "nb", cols);
    pgh_value vals[] = {T("7"), T("123.4500"), T("12345678901234567890.123456789012345678901"),
                        T("NaN"), T("t"), T("f"), T("true")};
    expect_insert(&rel, vals, NVALS(vals),
                  HEAD("public.nb", "insert", "0/16B3748")
                  ",\"key\":{\"id\":7},\"new\":{\"id\":7,\"price\":\"123.4500\","
                  "\"huge\":\"12345678901234567890.123456789012345678901\",\"nan\":\"NaN\","
                  "\"yes\":true,\"no\":false,\"odd\":\"true\"}}\n");
}

/* json/jsonb values are embedded with the whitespace outside strings removed and every other
 * byte kept (numbers keep all their digits); invalid JSON becomes a string. */
static void insert_json(void)
{
    pgh_column cols[] = {COL("id", 23, true),    COL("doc", 114, false),
                         COL("jb", 3802, false),  COL("scalar", 3802, false),
                         COL("str", 114, false),  COL("nul", 114, false),
                         COL("bad", 114, false),  COL("range", 3802, false),
                         COL("arr", 3802, false)};
    pgh_relation rel = REL(16387, "public", "docs", cols);
    pgh_value vals[] = {
        T("1"),
        T("{\"a\": [1, 2.50, \"x y\"],\n  \"b\" : null,\t\"c\": \"tab\\tq\\\" \\\\\" }"),
        T("{\"d\": 0.1000000000000000000001, \"n\": 12345678901234567890123}"),
        T("5"),
        T(" \"caf\xc3\xa9\" "),
        T("\"a\\u0000b\""),
        T("{\"a\":"),
        T("{\"x\": 1e400}"),
        T("[]")};
    expect_insert(&rel, vals, NVALS(vals),
                  HEAD("public.docs", "insert", "0/16B3748")
                  ",\"key\":{\"id\":1},\"new\":{\"id\":1,"
                  "\"doc\":{\"a\":[1,2.50,\"x y\"],\"b\":null,\"c\":\"tab\\tq\\\" \\\\\"},"
                  "\"jb\":{\"d\":0.1000000000000000000001,\"n\":12345678901234567890123},"
                  "\"scalar\":5,\"str\":\"caf\xc3\xa9\",\"nul\":\"a\\u0000b\","
                  "\"bad\":\"{\\\"a\\\":\",\"range\":\"{\\\"x\\\": 1e400}\",\"arr\":[]}}\n");
}

static void insert_text_escapes(void)
{
    pgh_column cols[] = {COL("id", 23, true), COL("t", 25, false), COL("we\"ird\n", 25, false),
                         COL("empty", 25, false)};
    pgh_relation rel = REL(16388, "my \"schema\"", "t\\1", cols);
    pgh_value vals[] = {
        T("1"),
        T("say \"hi\"\n\ttab\\back\r\b\f \xc3\xa9 \xf0\x9f\x98\x80 \xe2\x80\xa8 \x01\x1f\x7f /"),
        T("x"), T("")};
    expect_insert(&rel, vals, NVALS(vals),
                  "{\"table\":\"my \\\"schema\\\".t\\\\1\",\"op\":\"insert\",\"lsn\":\"0/16B3748\"" TXN
                  ",\"key\":{\"id\":1},\"new\":{\"id\":1,"
                  "\"t\":\"say \\\"hi\\\"\\n\\ttab\\\\back\\r\\b\\f \xc3\xa9 \xf0\x9f\x98\x80 "
                  "\xe2\x80\xa8 \\u0001\\u001f\x7f /\","
                  "\"we\\\"ird\\n\":\"x\",\"empty\":\"\"}}\n");
}

/* Every other type is the text exactly as sent. */
static void insert_other_types(void)
{
    pgh_column cols[] = {COL("id", 2950, true),   COL("ts", 1184, false),
                         COL("raw", 17, false),    COL("arr", 1007, false),
                         COL("mood", 90001, false), COL("iv", 1186, false),
                         COL("pt", 600, false)};
    pgh_relation rel = REL(16389, "public", "misc", cols);
    pgh_value vals[] = {T("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                        T("2026-11-23 19:04:05.123456+00"),
                        T("\\x00ff"),
                        T("{1,2,NULL}"),
                        T("happy"),
                        T("1 day 02:00:00"),
                        T("(1.5,2)")};
    expect_insert(&rel, vals, NVALS(vals),
                  HEAD("public.misc", "insert", "0/16B3748")
                  ",\"key\":{\"id\":\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"},\"new\":{"
                  "\"id\":\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\","
                  "\"ts\":\"2026-11-23 19:04:05.123456+00\",\"raw\":\"\\\\x00ff\","
                  "\"arr\":\"{1,2,NULL}\",\"mood\":\"happy\",\"iv\":\"1 day 02:00:00\","
                  "\"pt\":\"(1.5,2)\"}}\n");
}

/* Text that is not UTF-8 stops the sink with the table and column named; nothing is written. */
static void insert_invalid_utf8(void)
{
    pgh_column cols[] = {COL("id", 23, true), COL("name", 25, false)};
    pgh_relation rel = REL(16390, "public", "latin", cols);
    const char *bad[] = {"caf\xe9", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "ab\xe2\x82"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        capture cap;
        cap_open(&cap, NULL, 0);
        pgh_value vals[] = {T("1"), {PGH_VALUE_TEXT, (uint32_t)strlen(bad[i]), bad[i]}};
        feed(cap.sink, begin_c(TXN_FINAL, TXN_TIME, TXN_XID));
        pgh_error err = {0};
        pgh_change c = insert_c(0x16B3748, &rel, TUP(vals));
        CHECK_INT(tsink_write(cap.sink, &c, &err), PGH_ESINK);
        CHECK_MSG(&err, "public.latin column name: text is not valid UTF-8");
        CHECK_INT(err.lsn, 0x16B3748);
        expect_output(&cap, "");
        cap_close(&cap);
    }
}

static void insert_binary_value(void)
{
    pgh_column cols[] = {COL("id", 23, true)};
    pgh_relation rel = REL(16391, "public", "bin", cols);
    pgh_value vals[] = {{PGH_VALUE_BINARY, 4, "\0\0\0\1"}};
    capture cap;
    cap_open(&cap, NULL, 0);
    feed(cap.sink, begin_c(TXN_FINAL, TXN_TIME, TXN_XID));
    feed_fails(cap.sink, insert_c(0x16B3748, &rel, TUP(vals)), PGH_ESINK,
               "public.bin column id: binary-format value");
    expect_output(&cap, "");
    cap_close(&cap);
}

/* ---- cases: updates and deletes ---- */

static pgh_column item_cols[] = {COL("id", 23, true), COL("v", 25, false), COL("big", 25, false)};

/* Default identity: the key moved ('K' old tuple), and big was not sent. */
static void update_unchanged_old_key(void)
{
    pgh_relation rel = REL(16400, "public", "items", item_cols);
    pgh_value oldv[] = {T("1"), NUL, NUL};
    pgh_value newv[] = {T("2"), T("x"), UNCH};
    capture cap;
    cap_open(&cap, NULL, 0);
    feed(cap.sink, begin_c(TXN_FINAL, TXN_TIME, TXN_XID));
    feed(cap.sink, update_c(0x16B3750, &rel, 'K', TUP(oldv), TUP(newv)));
    feed(cap.sink, commit_c(TXN_FINAL, TXN_FINAL + 0x30));
    expect_output(&cap, HEAD("public.items", "update", "0/16B3750")
                  ",\"key\":{\"id\":2},\"old_key\":{\"id\":1},\"new\":{\"id\":2,\"v\":\"x\"},"
                  "\"unchanged\":[\"big\"]}\n");
    cap_close(&cap);
}

/* A 'K' old tuple with the same key (pgoutput sends one when the key is stored externally)
 * gives no old_key; an update without an old tuple has neither old_key nor old. */
static void update_key_same_and_no_old(void)
{
    pgh_relation rel = REL(16400, "public", "items", item_cols);
    pgh_value oldv[] = {T("3"), NUL, NUL};
    pgh_value newv[] = {T("3"), NUL, T("b")};
    pgh_value newv2[] = {T("4"), UNCH, UNCH};
    capture cap;
    cap_open(&cap, NULL, 0);
    feed(cap.sink, begin_c(TXN_FINAL, TXN_TIME, TXN_XID));
    feed(cap.sink, update_c(0x16B3750, &rel, 'K', TUP(oldv), TUP(newv)));
    feed(cap.sink, update_c(0x16B3758, &rel, 0, (pgh_tuple){0, NULL}, TUP(newv2)));
    feed(cap.sink, commit_c(TXN_FINAL, TXN_FINAL + 0x30));
    expect_output(&cap, HEAD("public.items", "update", "0/16B3750")
                  ",\"key\":{\"id\":3},\"new\":{\"id\":3,\"v\":null,\"big\":\"b\"}}\n"
                  HEAD("public.items", "update", "0/16B3758")
                  ",\"key\":{\"id\":4},\"new\":{\"id\":4},\"unchanged\":[\"v\",\"big\"]}\n");
    cap_close(&cap);
}

/* REPLICA IDENTITY FULL: every column is the key, the old row comes whole ('O'). A key value not
 * sent in the new row is taken from the old one. */
static void update_full_identity(void)
{
    pgh_column cols[] = {COL("id", 23, true), COL("v", 25, true), COL("big", 25, true)};
    pgh_relation rel = REL(16401, "public", "full", cols);
    rel.replident = 'f';
    pgh_value oldv[] = {T("1"), T("a"), T("long")};
    pgh_value newv[] = {T("1"), T("b"), UNCH};
    capture cap;
    cap_open(&cap, NULL, 0);
    feed(cap.sink, begin_c(TXN_FINAL, TXN_TIME, TXN_XID));
    feed(cap.sink, update_c(0x16B3750, &rel, 'O', TUP(oldv), TUP(newv)));
    feed(cap.sink, commit_c(TXN_FINAL, TXN_FINAL + 0x30));
    expect_output(&cap, HEAD("public.full", "update", "0/16B3750")
                  ",\"key\":{\"id\":1,\"v\":\"b\",\"big\":\"long\"},"
                  "\"old_key\":{\"id\":1,\"v\":\"a\",\"big\":\"long\"},"
                  "\"new\":{\"id\":1,\"v\":\"b\"},"
                  "\"old\":{\"id\":1,\"v\":\"a\",\"big\":\"long\"},\"unchanged\":[\"big\"]}\n");
    cap_close(&cap);
}

/* The example in docs/json-lines.md, byte for byte. */
static void docs_example(void)
{
    pgh_column cols[] = {COL("id", 23, true), COL("v", 25, false), COL("price", 1700, false),
                         COL("tags", 3802, false), COL("ok", 16, false), COL("big", 25, false)};
    pgh_relation rel = REL(16402, "public", "items", cols);
    pgh_value oldv[] = {T("1"), NUL, NUL, NUL, NUL, NUL};
    pgh_value newv[] = {T("2"), T("x"), T("19.90"), T("{\"a\": [1, 2.50]}"), T("t"), UNCH};
    capture cap;
    cap_open(&cap, NULL, 0);
    feed(cap.sink, begin_c(TXN_FINAL, TXN_TIME, TXN_XID));
    feed(cap.sink, update_c(0x16B3748, &rel, 'K', TUP(oldv), TUP(newv)));
    feed(cap.sink, commit_c(TXN_FINAL, TXN_FINAL + 0x30));
    expect_output(&cap, "{\"table\":\"public.items\",\"op\":\"update\",\"lsn\":\"0/16B3748\","
                  "\"commit_lsn\":\"0/16B37A0\",\"commit_time\":\"2026-11-23T19:04:05.123456Z\","
                  "\"xid\":742,\"key\":{\"id\":2},\"old_key\":{\"id\":1},\"new\":{\"id\":2,"
                  "\"v\":\"x\",\"price\":\"19.90\",\"tags\":{\"a\":[1,2.50]},\"ok\":true},"
                  "\"unchanged\":[\"big\"]}\n");
    cap_close(&cap);
}

static void delete_key(void)
{
    pgh_relation rel = REL(16400, "public", "items", item_cols);
    pgh_value oldv[] = {T("5"), NUL, NUL};
    capture cap;
    cap_open(&cap, NULL, 0);
    feed(cap.sink, begin_c(TXN_FINAL, TXN_TIME, TXN_XID));
    feed(cap.sink, delete_c(0x16B3760, &rel, 'K', TUP(oldv)));
    feed(cap.sink, commit_c(TXN_FINAL, TXN_FINAL + 0x30));
    expect_output(&cap, HEAD("public.items", "delete", "0/16B3760") ",\"key\":{\"id\":5}}\n");
    cap_close(&cap);
}

static void delete_full_identity(void)
{
    pgh_column cols[] = {COL("id", 20, true), COL("v", 25, true), COL("big", 25, true)};
    pgh_relation rel = REL(16401, "public", "full", cols);
    rel.replident = 'f';
    pgh_value oldv[] = {T("-9223372036854775808"), NUL, UNCH};
    capture cap;
    cap_open(&cap, NULL, 0);
    feed(cap.sink, begin_c(TXN_FINAL, TXN_TIME, TXN_XID));
    feed(cap.sink, delete_c(0x16B3760, &rel, 'O', TUP(oldv)));
    feed(cap.sink, commit_c(TXN_FINAL, TXN_FINAL + 0x30));
    expect_output(&cap, HEAD("public.full", "delete", "0/16B3760")
                  ",\"key\":{\"id\":-9223372036854775808,\"v\":null},"
                  "\"old\":{\"id\":-9223372036854775808,\"v\":null}}\n");
    cap_close(&cap);
}

/* ---- cases: truncate, filter, other kinds ---- */

static void truncate_two_relations(void)
{
    pgh_column cols[] = {COL("id", 23, true)};
    pgh_relation a = REL(16410, "public", "a", cols);
    pgh_relation b = REL(16411, "sales", "b", cols);
    pgh_relation skip = REL(16412, "public", "c", cols);
    pgh_table_map map[] = {{"public", "a", "public", "a"}, {"sales", "b", "x", "y"}};
    const pgh_relation *rels[] = {&a, &skip, &b};
    capture cap;
    cap_open(&cap, map, 2);
    feed(cap.sink, begin_c(TXN_FINAL, TXN_TIME, TXN_XID));
    pgh_change t = {.kind = PGH_CHANGE_TRUNCATE, .wal_start = 0x16B3770};
    t.u.truncate.options = PGH_TRUNCATE_CASCADE | PGH_TRUNCATE_RESTART_IDENTITY;
    t.u.truncate.nrels = 3;
    t.u.truncate.rels = rels;
    feed(cap.sink, t);
    t.u.truncate.options = 0;
    t.u.truncate.nrels = 1;
    t.wal_start = 0x16B3778;
    feed(cap.sink, t);
    feed(cap.sink, commit_c(TXN_FINAL, TXN_FINAL + 0x30));
    /* seq is the table's index in the message: the skipped table still counts. */
    expect_output(&cap, HEAD("public.a", "truncate", "0/16B3770")
                  ",\"seq\":0,\"cascade\":true,\"restart_identity\":true}\n"
                  HEAD("sales.b", "truncate", "0/16B3770")
                  ",\"seq\":2,\"cascade\":true,\"restart_identity\":true}\n"
                  HEAD("public.a", "truncate", "0/16B3778")
                  ",\"seq\":0,\"cascade\":false,\"restart_identity\":false}\n");
    cap_close(&cap);
}

/* Only mapped source tables are written (schema and name both match); a transaction with no
 * mapped change still moves the flush position. */
static void unmapped_tables_skipped(void)
{
    pgh_column cols[] = {COL("id", 23, true)};
    pgh_relation t = REL(16420, "public", "t", cols);
    pgh_relation other = REL(16421, "public", "other", cols);
    pgh_relation same_name = REL(16422, "audit", "t", cols);
    pgh_table_map map[] = {{"public", "t", "dst", "t2"}};
    pgh_value v[] = {T("1")};
    capture cap;
    cap_open(&cap, map, 1);
    feed(cap.sink, begin_c(0x1000, TXN_TIME, 1));
    feed(cap.sink, insert_c(0x0F00, &other, TUP(v)));
    feed(cap.sink, delete_c(0x0F08, &same_name, 'K', TUP(v)));
    feed(cap.sink, commit_c(0x1000, 0x1030));
    CHECK_INT(flush_ok(cap.sink), 0x1030);
    expect_output(&cap, "");
    feed(cap.sink, begin_c(TXN_FINAL, TXN_TIME, TXN_XID));
    feed(cap.sink, insert_c(0x16B3748, &other, TUP(v)));
    feed(cap.sink, insert_c(0x16B3750, &t, TUP(v)));
    feed(cap.sink, update_c(0x16B3758, &same_name, 0, (pgh_tuple){0, NULL}, TUP(v)));
    feed(cap.sink, commit_c(TXN_FINAL, TXN_FINAL + 0x30));
    expect_output(&cap, HEAD("public.t", "insert", "0/16B3750")
                  ",\"key\":{\"id\":1},\"new\":{\"id\":1}}\n");
    CHECK_INT(flush_ok(cap.sink), TXN_FINAL + 0x30);
    cap_close(&cap);
}

static void no_line_for_other_kinds(void)
{
    pgh_column cols[] = {COL("id", 23, true)};
    pgh_relation rel = REL(16430, "public", "t", cols);
    capture cap;
    cap_open(&cap, NULL, 0);
    pgh_change c = {.kind = PGH_CHANGE_RELATION, .wal_start = 0x10};
    c.u.relation.rel = &rel;
    feed(cap.sink, c);
    c = (pgh_change){.kind = PGH_CHANGE_TYPE, .wal_start = 0x10};
    c.u.type.oid = 90001;
    c.u.type.nspname = "public";
    c.u.type.typname = "mood";
    feed(cap.sink, c);
    c = (pgh_change){.kind = PGH_CHANGE_MESSAGE, .wal_start = 0x10};
    c.u.message.prefix = "p";
    c.u.message.content = "x";
    c.u.message.len = 1;
    feed(cap.sink, c); /* non-transactional, outside any transaction */
    feed(cap.sink, begin_c(0x100, 0, 1));
    c = (pgh_change){.kind = PGH_CHANGE_ORIGIN, .wal_start = 0x20};
    c.u.origin.name = "o";
    feed(cap.sink, c);
    feed(cap.sink, commit_c(0x100, 0x130));
    expect_output(&cap, "");
    feed_fails(cap.sink, (pgh_change){.kind = (pgh_change_kind)'Z'}, PGH_EPROTO,
               "change called with a 'Z' message");
    cap_close(&cap);
}

/* commit_time before and at the epoch, at the end of a day; high LSN halves; the largest xid. */
static void commit_time_and_lsn_forms(void)
{
    pgh_column cols[] = {COL("id", 23, true)};
    pgh_relation rel = REL(16440, "public", "t", cols);
    pgh_value v[] = {T("1")};
    capture cap;
    cap_open(&cap, NULL, 0);
    feed(cap.sink, begin_c(UINT64_C(0xABCDEF0100000010), -1, UINT32_MAX));
    feed(cap.sink, insert_c(UINT64_C(0x100000000), &rel, TUP(v)));
    feed(cap.sink, commit_c(UINT64_C(0xABCDEF0100000010), UINT64_C(0xABCDEF0100000040)));
    feed(cap.sink, begin_c(0x200, 0, 0));
    feed(cap.sink, insert_c(0x1F0, &rel, TUP(v)));
    feed(cap.sink, commit_c(0x200, 0x230));
    feed(cap.sink, begin_c(0x300, INT64_C(-946684800000000), 3)); /* 1970-01-01 */
    feed(cap.sink, insert_c(0x2F0, &rel, TUP(v)));
    feed(cap.sink, commit_c(0x300, 0x330));
    expect_output(&cap,
                  "{\"table\":\"public.t\",\"op\":\"insert\",\"lsn\":\"1/0\","
                  "\"commit_lsn\":\"ABCDEF01/10\",\"commit_time\":\"1999-12-31T23:59:59.999999Z\","
                  "\"xid\":4294967295,\"key\":{\"id\":1},\"new\":{\"id\":1}}\n"
                  "{\"table\":\"public.t\",\"op\":\"insert\",\"lsn\":\"0/1F0\","
                  "\"commit_lsn\":\"0/200\",\"commit_time\":\"2000-01-01T00:00:00.000000Z\","
                  "\"xid\":0,\"key\":{\"id\":1},\"new\":{\"id\":1}}\n"
                  "{\"table\":\"public.t\",\"op\":\"insert\",\"lsn\":\"0/2F0\","
                  "\"commit_lsn\":\"0/300\",\"commit_time\":\"1970-01-01T00:00:00.000000Z\","
                  "\"xid\":3,\"key\":{\"id\":1},\"new\":{\"id\":1}}\n");
    cap_close(&cap);
}

/* ---- cases: flush and failures ---- */

/* flush() reports the end LSN of the last COMMIT; an open transaction does not count, even when
 * its lines are out already. */
static void flush_returns_last_commit(void)
{
    pgh_column cols[] = {COL("id", 23, true)};
    pgh_relation rel = REL(16450, "public", "t", cols);
    pgh_value v[] = {T("1")};
    capture cap;
    cap_open(&cap, NULL, 0);
    CHECK_INT(flush_ok(cap.sink), 0);
    feed(cap.sink, begin_c(0x1000, TXN_TIME, 10));
    feed(cap.sink, insert_c(0x0F00, &rel, TUP(v)));
    CHECK_INT(flush_ok(cap.sink), 0);
    CHECK(cap.len > 0); /* the line is out, the transaction is not confirmed */
    feed(cap.sink, commit_c(0x1000, 0x1030));
    CHECK_INT(flush_ok(cap.sink), 0x1030);
    feed(cap.sink, begin_c(0x2000, TXN_TIME, 11));
    feed(cap.sink, insert_c(0x1F00, &rel, TUP(v)));
    CHECK_INT(flush_ok(cap.sink), 0x1030);
    feed(cap.sink, commit_c(0x2000, 0x2030));
    feed(cap.sink, begin_c(0x3000, TXN_TIME, 12));
    feed(cap.sink, commit_c(0x3000, 0x3030));
    CHECK_INT(flush_ok(cap.sink), 0x3030);
    CHECK_INT(flush_ok(cap.sink), 0x3030);
    cap_close(&cap);
}

/* A regular file (tmpfile) is fsync'ed at flush; the lines read back. */
static void flush_regular_file(void)
{
    pgh_column cols[] = {COL("id", 23, true)};
    pgh_relation rel = REL(16451, "public", "t", cols);
    pgh_value v[] = {T("1")};
    FILE *f = tmpfile();
    CHECK(f != NULL);
    tsink *sink = open_on(f, NULL, 0);
    feed(sink, begin_c(TXN_FINAL, TXN_TIME, TXN_XID));
    feed(sink, insert_c(0x16B3748, &rel, TUP(v)));
    feed(sink, commit_c(TXN_FINAL, TXN_FINAL + 0x30));
    CHECK_INT(flush_ok(sink), TXN_FINAL + 0x30);
    tsink_free(sink);
    rewind(f);
    char line[512] = "";
    CHECK(fgets(line, sizeof(line), f) != NULL);
    const char *want = HEAD("public.t", "insert", "0/16B3748")
        ",\"key\":{\"id\":1},\"new\":{\"id\":1}}\n";
    CHECK(strcmp(line, want) == 0);
    CHECK(fgets(line, sizeof(line), f) == NULL);
    fclose(f);
    free_tracked();
}

/* A 3 MB value: one line, one write; the buffer that grew for it is released afterwards and
 * the next line is still right. */
static void large_value(void)
{
    pgh_column cols[] = {COL("id", 23, true), COL("doc", 25, false)};
    pgh_relation rel = REL(16452, "public", "t", cols);
    size_t n = 3u << 20;
    char *big = track(malloc(n));
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n - 1] = '\n';
    pgh_value v[] = {T("1"), {PGH_VALUE_TEXT, (uint32_t)n, big}};
    pgh_value small[] = {T("2"), T("s")};
    capture cap;
    cap_open(&cap, NULL, 0);
    feed(cap.sink, begin_c(TXN_FINAL, TXN_TIME, TXN_XID));
    feed(cap.sink, insert_c(0x16B3748, &rel, TUP(v)));
    feed(cap.sink, insert_c(0x16B3750, &rel, TUP(small)));
    feed(cap.sink, commit_c(TXN_FINAL, TXN_FINAL + 0x30));
    CHECK_INT(flush_ok(cap.sink), TXN_FINAL + 0x30);
    const char *head = HEAD("public.t", "insert", "0/16B3748")
        ",\"key\":{\"id\":1},\"new\":{\"id\":1,\"doc\":\"";
    const char *second = HEAD("public.t", "insert", "0/16B3750")
        ",\"key\":{\"id\":2},\"new\":{\"id\":2,\"doc\":\"s\"}}\n";
    size_t first_len = strlen(head) + (n - 1) + 2 + 4;
    CHECK_INT(cap.len, first_len + strlen(second));
    CHECK(memcmp(cap.data, head, strlen(head)) == 0);
    CHECK(memcmp(cap.data + strlen(head) + n - 1, "\\n\"}}\n", 6) == 0);
    CHECK(memcmp(cap.data + first_len, second, strlen(second)) == 0);
    check_lines_parse(cap.data, cap.len);
    cap_close(&cap);
}

/* A stream that cannot be written: the write fails with PGH_ESINK, the sink stays failed, and
 * flush confirms nothing. */
static void write_error_read_only(void)
{
    pgh_column cols[] = {COL("id", 23, true)};
    pgh_relation rel = REL(16460, "public", "t", cols);
    pgh_value v[] = {T("1")};
    FILE *f = fopen("/dev/null", "r");
    CHECK(f != NULL);
    tsink *sink = open_on(f, NULL, 0);
    feed(sink, begin_c(TXN_FINAL, TXN_TIME, TXN_XID));
    feed_fails(sink, insert_c(0x16B3748, &rel, TUP(v)), PGH_ESINK,
               "writing to stdout failed: Bad file descriptor");
    feed_fails(sink, commit_c(TXN_FINAL, TXN_FINAL + 0x30), PGH_ESINK,
               "writing to stdout failed earlier");
    pgh_lsn lsn = 99;
    pgh_error err = {0};
    CHECK_INT(tsink_flush(sink, &lsn, &err), PGH_ESINK);
    CHECK_INT(lsn, 0);
    tsink_free(sink);
    fclose(f);
    free_tracked();
}

/* The reader of a pipe went away: the buffered lines fail at flush with EPIPE, reported as the
 * stream being closed, and the transaction is not confirmed. */
static void write_error_closed_pipe(void)
{
    pgh_column cols[] = {COL("id", 23, true)};
    pgh_relation rel = REL(16461, "public", "t", cols);
    pgh_value v[] = {T("1")};
    CHECK(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
    int fds[2];
    CHECK(pipe(fds) == 0);
    close(fds[0]);
    FILE *f = fdopen(fds[1], "w");
    CHECK(f != NULL);
    CHECK(setvbuf(f, NULL, _IOFBF, 1 << 16) == 0);
    tsink *sink = open_on(f, NULL, 0);
    feed(sink, begin_c(0x1000, TXN_TIME, 1));
    feed(sink, insert_c(0x0F00, &rel, TUP(v)));
    feed(sink, commit_c(0x1000, 0x1030));
    pgh_lsn lsn = 99;
    pgh_error err = {0};
    CHECK_INT(tsink_flush(sink, &lsn, &err), PGH_ESINK);
    CHECK_INT(lsn, 0);
    CHECK_MSG(&err, "stdout was closed: Broken pipe");
    CHECK_MSG(&err, "HINT: ");
    feed_fails(sink, begin_c(0x2000, TXN_TIME, 2), PGH_ESINK, "failed earlier");
    tsink_free(sink);
    fclose(f); /* fails again on the buffered bytes; nothing to check */
    free_tracked();
}

static void change_outside_transaction(void)
{
    pgh_column cols[] = {COL("id", 23, true)};
    pgh_relation rel = REL(16470, "public", "t", cols);
    pgh_value v[] = {T("1")};
    capture cap;
    cap_open(&cap, NULL, 0);
    feed_fails(cap.sink, insert_c(0x10, &rel, TUP(v)), PGH_EPROTO,
               "public.t: insert at 0/10 outside a transaction");
    feed_fails(cap.sink, commit_c(0x20, 0x30), PGH_EPROTO, "COMMIT at 0/20 without a BEGIN");
    const pgh_relation *rels[] = {&rel};
    pgh_change t = {.kind = PGH_CHANGE_TRUNCATE, .wal_start = 0x40};
    t.u.truncate.nrels = 1;
    t.u.truncate.rels = rels;
    feed_fails(cap.sink, t, PGH_EPROTO, "truncate at 0/40 outside a transaction");
    expect_output(&cap, "");
    cap_close(&cap);
}

static void tuple_column_count_mismatch(void)
{
    pgh_column cols[] = {COL("id", 23, true), COL("v", 25, false)};
    pgh_relation rel = REL(16471, "public", "t", cols);
    pgh_value v[] = {T("1")};
    capture cap;
    cap_open(&cap, NULL, 0);
    feed(cap.sink, begin_c(TXN_FINAL, TXN_TIME, TXN_XID));
    feed_fails(cap.sink, insert_c(0x16B3748, &rel, TUP(v)), PGH_EPROTO,
               "public.t: insert at 0/16B3748 has 1 values for 2 columns");
    expect_output(&cap, "");
    cap_close(&cap);
}

static void open_bad_options(void)
{
    pgh_destination *d = (pgh_destination *)1;
    pgh_error err = {0};
    pgh_json_opts opts = PGH_JSON_OPTS_INIT;
    CHECK_INT(pgh_json_destination_new(&d, &opts, &err), PGH_ECONFIG);
    CHECK(d == NULL);
    CHECK_MSG(&err, "no output stream");
    opts.out = stdout;
    opts.version = 99;
    pgh_error_clear(&err);
    CHECK_INT(pgh_json_destination_new(&d, &opts, &err), PGH_ECONFIG);
    CHECK_MSG(&err, "options version 99, expected 1");
    pgh_destination_free(NULL); /* accepts NULL */
}

/* ---- the destination (pghost/json.h): helpers ---- */

/* A JSON destination writing to a memory stream, opened with a configuration listing tables. */
typedef struct dcap {
    char *data;                      /* owned by the memory stream until fclose */
    size_t len;
    FILE *f;                         /* owned */
    pgh_destination *dest;           /* owned */
    const pgh_destination_ops *ops;  /* borrowed from dest */
    void *user;                      /* borrowed from dest */
    pgh_config cfg;                  /* tables borrowed from the case */
} dcap;

static void dcap_open(dcap *c, const pgh_table_map *tables, size_t ntables,
                      const char *state_file, const char *slot)
{
    memset(c, 0, sizeof(*c));
    c->f = open_memstream(&c->data, &c->len);
    CHECK(c->f != NULL);
    pgh_json_opts opts = PGH_JSON_OPTS_INIT;
    opts.out = c->f;
    opts.state_file = state_file;
    pgh_error err = {0};
    int rc = pgh_json_destination_new(&c->dest, &opts, &err);
    if (rc != 0)
        fprintf(stderr, "new: %s\n", err.message);
    CHECK_INT(rc, 0);
    c->ops = pgh_destination_ops_of(c->dest);
    c->user = pgh_destination_user(c->dest);
    CHECK_INT(c->ops->flags, 0);
    c->cfg.tables = (pgh_table_map *)tables;
    c->cfg.ntables = ntables;
    pgh_destination_info info = {&c->cfg, slot, true, NULL};
    rc = c->ops->open(c->user, &info, &err);
    if (rc != 0)
        fprintf(stderr, "open: %s\n", err.message);
    CHECK_INT(rc, 0);
}

static void dcap_close(dcap *c)
{
    c->ops->close(c->user);
    pgh_destination_free(c->dest);
    fclose(c->f);
    free(c->data);
    free_tracked();
}

/* Print err when rc is not 0, then check rc. */
static void ok(int rc, const pgh_error *err, const char *what)
{
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", what, err->message);
    CHECK_INT(rc, 0);
}

static void d_begin(dcap *c, pgh_lsn final_lsn)
{
    pgh_change b = begin_c(final_lsn, TXN_TIME, TXN_XID);
    pgh_error err = {0};
    ok(c->ops->begin(c->user, &b, &err), &err, "begin");
}

/* COMMIT of the transaction begun at final_lsn; the position after it is pos (lsn set here). */
static void d_commit(dcap *c, pgh_lsn final_lsn, pgh_position pos)
{
    pgh_change cm = commit_c(final_lsn, final_lsn + 0x30);
    pos.lsn = final_lsn + 0x30;
    pgh_error err = {0};
    ok(c->ops->commit(c->user, &cm, &pos, &err), &err, "commit");
}

static void d_change(dcap *c, pgh_change ch)
{
    pgh_error err = {0};
    ok(c->ops->change(c->user, &ch, &err), &err, "change");
}

static void d_rows(dcap *c, const pgh_table_rows *t, const pgh_tuple *rows, size_t n)
{
    pgh_error err = {0};
    ok(c->ops->table_rows(c->user, t, rows, n, &err), &err, "table_rows");
}

static void d_mark(dcap *c, const pgh_table_rows *t, bool start)
{
    pgh_error err = {0};
    if (start)
        ok(c->ops->table_begin(c->user, t, &err), &err, "table_begin");
    else
        ok(c->ops->table_end(c->user, t, &err), &err, "table_end");
}

static pgh_lsn d_flush(dcap *c)
{
    pgh_lsn lsn = 99;
    pgh_error err = {0};
    ok(c->ops->flush(c->user, &lsn, &err), &err, "flush");
    return lsn;
}

static void d_expect(dcap *c, const char *want)
{
    CHECK_INT(fflush(c->f), 0);
    if (c->len != strlen(want) || memcmp(c->data, want, c->len) != 0) {
        fprintf(stderr, "output:\n%.*s\nexpected:\n%s\n", (int)c->len, c->data, want);
        exit(1);
    }
    check_lines_parse(c->data, c->len);
}

/* A scratch directory for state files; removed, with what the cases leave in it, at the end. */
static char scratch[64];

static const char *scratch_dir(void)
{
    snprintf(scratch, sizeof(scratch), "/tmp/pgh-json-test-XXXXXX");
    CHECK(mkdtemp(scratch) != NULL);
    return scratch;
}

static void scratch_remove(const char *state_file)
{
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s.tmp", state_file);
    unlink(state_file);
    CHECK(access(tmp, F_OK) != 0); /* no temporary file left behind */
    CHECK_INT(rmdir(scratch), 0);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    CHECK(fputs(text, f) >= 0);
    CHECK_INT(fclose(f), 0);
}

/* The table most destination cases use: public.t (id int4 key, v text, n numeric). */
static pgh_column t_cols[] = {COL("id", 23, true), COL("v", 25, false), COL("n", 1700, false)};
#define T_MAP {"public", "t", "public", "t"}
#define WM 0x16B3750 /* the watermark message of the chunk */
#define HEAD_AT(table, op, lsn, final)                                                          \
    "{\"table\":\"" table "\",\"op\":\"" op "\",\"lsn\":\"" lsn "\",\"commit_lsn\":\"" final  \
    "\",\"commit_time\":\"2026-11-23T19:04:05.123456Z\",\"xid\":742"

/* ---- cases: existing rows ---- */

/* snapshot_start, snapshot rows and snapshot_end, each in the transaction of its watermark;
 * rows carry the watermark's lsn, seq, the key and every column, typed as for changes. */
static void snapshot_lines(void)
{
    pgh_relation rel = REL(16500, "public", "t", t_cols);
    pgh_table_map map[] = {T_MAP};
    pgh_value r1[] = {T("1"), T("a \"b\""), T("1.50")};
    pgh_value r2[] = {T("2"), NUL, NUL};
    pgh_tuple rows[] = {TUP(r1), TUP(r2)};
    dcap c;
    dcap_open(&c, map, 1, NULL, "s");
    pgh_table_rows t = {.table = &rel, .table_index = 0, .lsn = 0x1000};
    d_begin(&c, 0x1100);
    d_mark(&c, &t, true);
    d_commit(&c, 0x1100, (pgh_position){0});
    t.lsn = WM;
    t.chunk = 1;
    d_begin(&c, 0x16B37A0);
    d_rows(&c, &t, rows, 2);
    d_commit(&c, 0x16B37A0, (pgh_position){0});
    t.lsn = 0x20000;
    t.chunk = 0;
    d_begin(&c, 0x20100);
    d_mark(&c, &t, false);
    d_commit(&c, 0x20100, (pgh_position){0});
    d_expect(&c,
             HEAD_AT("public.t", "snapshot_start", "0/1000", "0/1100") ",\"seq\":0}\n"
             HEAD_AT("public.t", "snapshot", "0/16B3750", "0/16B37A0")
             ",\"seq\":0,\"key\":{\"id\":1},\"new\":{\"id\":1,\"v\":\"a \\\"b\\\"\",\"n\":\"1.50\"}}\n"
             HEAD_AT("public.t", "snapshot", "0/16B3750", "0/16B37A0")
             ",\"seq\":1,\"key\":{\"id\":2},\"new\":{\"id\":2,\"v\":null,\"n\":null}}\n"
             HEAD_AT("public.t", "snapshot_end", "0/20000", "0/20100") ",\"seq\":0}\n");
    CHECK_INT(d_flush(&c), 0x20130);
    dcap_close(&c);
}

/* One chunk in two table_rows calls: seq continues from first_row. */
static void snapshot_seq_two_calls(void)
{
    pgh_relation rel = REL(16501, "public", "t", t_cols);
    pgh_table_map map[] = {T_MAP};
    pgh_value r1[] = {T("1"), T("x"), NUL};
    pgh_value r2[] = {T("2"), T("y"), NUL};
    pgh_value r3[] = {T("3"), T("z"), NUL};
    pgh_tuple first[] = {TUP(r1), TUP(r2)};
    pgh_tuple second[] = {TUP(r3)};
    dcap c;
    dcap_open(&c, map, 1, NULL, "s");
    pgh_table_rows t = {.table = &rel, .lsn = WM, .chunk = 7, .first_row = 0};
    d_begin(&c, TXN_FINAL);
    d_rows(&c, &t, first, 2);
    t.first_row = 2;
    d_rows(&c, &t, second, 1);
    d_rows(&c, &t, NULL, 0); /* an empty call writes nothing */
    d_commit(&c, TXN_FINAL, (pgh_position){0});
    d_expect(&c,
             HEAD("public.t", "snapshot", "0/16B3750")
             ",\"seq\":0,\"key\":{\"id\":1},\"new\":{\"id\":1,\"v\":\"x\",\"n\":null}}\n"
             HEAD("public.t", "snapshot", "0/16B3750")
             ",\"seq\":1,\"key\":{\"id\":2},\"new\":{\"id\":2,\"v\":\"y\",\"n\":null}}\n"
             HEAD("public.t", "snapshot", "0/16B3750")
             ",\"seq\":2,\"key\":{\"id\":3},\"new\":{\"id\":3,\"v\":\"z\",\"n\":null}}\n");
    dcap_close(&c);
}

/* A table delivered again on request: snapshot_start says "reload":true, the rest is as usual. */
static void snapshot_reload(void)
{
    pgh_relation rel = REL(16502, "public", "t", t_cols);
    pgh_table_map map[] = {T_MAP};
    dcap c;
    dcap_open(&c, map, 1, NULL, "s");
    pgh_table_rows t = {.table = &rel, .lsn = 0x16B3748, .reload = true};
    d_begin(&c, TXN_FINAL);
    d_mark(&c, &t, true);
    t.lsn = 0x16B3758;
    d_mark(&c, &t, false);
    d_commit(&c, TXN_FINAL, (pgh_position){0});
    d_expect(&c, HEAD("public.t", "snapshot_start", "0/16B3748") ",\"seq\":0,\"reload\":true}\n"
                 HEAD("public.t", "snapshot_end", "0/16B3758") ",\"seq\":0}\n");
    dcap_close(&c);
}

/* Rows, marks and changes of a table the configuration does not list write nothing. */
static void snapshot_unconfigured_skipped(void)
{
    pgh_relation other = REL(16503, "audit", "t", t_cols);
    pgh_relation rel = REL(16504, "public", "t", t_cols);
    pgh_table_map map[] = {T_MAP};
    pgh_value r1[] = {T("1"), T("x"), NUL};
    pgh_tuple rows[] = {TUP(r1)};
    dcap c;
    dcap_open(&c, map, 1, NULL, "s");
    pgh_table_rows t = {.table = &other, .lsn = WM};
    d_begin(&c, TXN_FINAL);
    d_mark(&c, &t, true);
    d_rows(&c, &t, rows, 1);
    d_mark(&c, &t, false);
    d_change(&c, insert_c(0x16B3758, &other, TUP(r1)));
    d_change(&c, insert_c(0x16B3760, &rel, TUP(r1)));
    d_commit(&c, TXN_FINAL, (pgh_position){0});
    d_expect(&c, HEAD("public.t", "insert", "0/16B3760")
                 ",\"key\":{\"id\":1},\"new\":{\"id\":1,\"v\":\"x\",\"n\":null}}\n");
    dcap_close(&c);
}

/* An existing row never lacks a value (destination.h): one that does is PGH_ESINK naming the
 * table and the column, and nothing is written. */
static void snapshot_unchanged_is_error(void)
{
    pgh_relation rel = REL(16505, "public", "t", t_cols);
    pgh_table_map map[] = {T_MAP};
    pgh_value r1[] = {T("1"), UNCH, NUL};
    pgh_tuple rows[] = {TUP(r1)};
    dcap c;
    dcap_open(&c, map, 1, NULL, "s");
    pgh_table_rows t = {.table = &rel, .lsn = WM};
    d_begin(&c, TXN_FINAL);
    pgh_error err = {0};
    CHECK_INT(c.ops->table_rows(c.user, &t, rows, 1, &err), PGH_ESINK);
    CHECK_MSG(&err, "public.t: existing row at 0/16B3750 has no value for column v");
    CHECK_INT(err.lsn, WM);
    d_expect(&c, "");
    /* and outside a transaction, rows are a protocol error */
    pgh_value r2[] = {T("2"), T("x"), NUL};
    pgh_tuple ok_rows[] = {TUP(r2)};
    d_commit(&c, TXN_FINAL, (pgh_position){0});
    pgh_error_clear(&err);
    CHECK_INT(c.ops->table_rows(c.user, &t, ok_rows, 1, &err), PGH_EPROTO);
    CHECK_MSG(&err, "outside a transaction");
    dcap_close(&c);
}

/* Through the destination: truncate lines carry seq; relation and message write nothing. */
static void destination_truncate_seq(void)
{
    pgh_column cols[] = {COL("id", 23, true)};
    pgh_relation a = REL(16510, "public", "a", cols);
    pgh_relation b = REL(16511, "public", "b", cols);
    pgh_table_map map[] = {{"public", "a", "public", "a"}, {"public", "b", "public", "b"}};
    const pgh_relation *rels[] = {&a, &b};
    dcap c;
    dcap_open(&c, map, 2, NULL, "s");
    d_begin(&c, TXN_FINAL);
    pgh_error err = {0};
    pgh_change r = {.kind = PGH_CHANGE_RELATION, .wal_start = 0x16B3740};
    r.u.relation.rel = &a;
    ok(c.ops->relation(c.user, &r, &err), &err, "relation");
    pgh_change m = {.kind = PGH_CHANGE_MESSAGE, .wal_start = 0x16B3744};
    m.u.message.prefix = "pghost.ddl";
    m.u.message.content = "x";
    m.u.message.len = 1;
    ok(c.ops->message(c.user, &m, &err), &err, "message");
    pgh_change t = {.kind = PGH_CHANGE_TRUNCATE, .wal_start = 0x16B3770};
    t.u.truncate.nrels = 2;
    t.u.truncate.rels = rels;
    ok(c.ops->truncate(c.user, &t, &err), &err, "truncate");
    d_commit(&c, TXN_FINAL, (pgh_position){0});
    d_expect(&c, HEAD("public.a", "truncate", "0/16B3770")
                 ",\"seq\":0,\"cascade\":false,\"restart_identity\":false}\n"
                 HEAD("public.b", "truncate", "0/16B3770")
                 ",\"seq\":1,\"cascade\":false,\"restart_identity\":false}\n");
    dcap_close(&c);
}

/* ---- cases: positions and the state file ---- */

/* A committed position survives, after flush, into a new destination exactly: quotes,
 * newlines, backslashes, control characters and non-ASCII in the resume token included. */
static void state_round_trip(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/state.json", scratch_dir());
    pgh_relation rel = REL(16520, "public", "t", t_cols);
    pgh_table_map map[] = {T_MAP};
    pgh_value v[] = {T("1"), T("x"), NUL};
    const char *token = "{\"t\":\"public.t\",\"c\":3}\nline 2\t\\ \"q\" caf\xc3\xa9 "
                        "\xf0\x9f\x98\x80 \x01 end";
    dcap c;
    dcap_open(&c, map, 1, path, "slot_a");
    pgh_position none = {0};
    pgh_error err = {0};
    ok(c.ops->read_position(c.user, &none, &err), &err, "read_position");
    CHECK_INT(none.lsn, 0); /* no file yet: nothing stored */
    CHECK(none.resume == NULL && none.phase[0] == '\0');
    CHECK_INT(d_flush(&c), 0);
    CHECK(!exists(path)); /* nothing committed: nothing to store */
    d_begin(&c, TXN_FINAL);
    d_change(&c, insert_c(0x16B3748, &rel, TUP(v)));
    pgh_position after = {.checkpoint = UINT64_C(0xA00000010), .phase = "snapshot",
                          .resume = (char *)token};
    d_commit(&c, TXN_FINAL, after);
    CHECK_INT(d_flush(&c), TXN_FINAL + 0x30);
    CHECK(exists(path));
    dcap_close(&c);

    /* the file is one JSON object naming the slot */
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    CHECK(j != NULL);
    CHECK_INT(json_integer_value(json_object_get(j, "version")), 1);
    CHECK(strcmp(json_string_value(json_object_get(j, "slot")), "slot_a") == 0);
    CHECK(strcmp(json_string_value(json_object_get(j, "lsn")), "0/16B37D0") == 0);
    CHECK(strcmp(json_string_value(json_object_get(j, "checkpoint")), "A/10") == 0);
    json_decref(j);

    dcap_open(&c, map, 1, path, "slot_a");
    pgh_position back = {0};
    ok(c.ops->read_position(c.user, &back, &err), &err, "read_position");
    CHECK_INT(back.lsn, TXN_FINAL + 0x30);
    CHECK_INT(back.checkpoint, UINT64_C(0xA00000010));
    CHECK(strcmp(back.phase, "snapshot") == 0);
    CHECK(back.resume != NULL && strcmp(back.resume, token) == 0);
    free(back.resume);
    /* what was read is durable: flush reports it without a commit */
    CHECK_INT(d_flush(&c), TXN_FINAL + 0x30);
    /* a position with no resume token round-trips as NULL */
    d_begin(&c, 0x2000000);
    d_commit(&c, 0x2000000, (pgh_position){.phase = "follow"});
    CHECK_INT(d_flush(&c), 0x2000030);
    dcap_close(&c);
    dcap_open(&c, map, 1, path, "slot_a");
    back = (pgh_position){0};
    ok(c.ops->read_position(c.user, &back, &err), &err, "read_position");
    CHECK_INT(back.lsn, 0x2000030);
    CHECK_INT(back.checkpoint, 0);
    CHECK(strcmp(back.phase, "follow") == 0);
    CHECK(back.resume == NULL);
    dcap_close(&c);
    scratch_remove(path);
}

/* The state file is written by flush (and write_position), never by commit alone. */
static void state_not_before_flush(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/state.json", scratch_dir());
    pgh_table_map map[] = {T_MAP};
    dcap c;
    dcap_open(&c, map, 1, path, "s");
    d_begin(&c, TXN_FINAL);
    d_commit(&c, TXN_FINAL, (pgh_position){.phase = "follow"});
    CHECK(!exists(path));
    CHECK_INT(d_flush(&c), TXN_FINAL + 0x30);
    CHECK(exists(path));
    dcap_close(&c);
    scratch_remove(path);
}

/* write_position stores at once, without a flush, and becomes the pending position. */
static void state_write_position(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/state.json", scratch_dir());
    pgh_table_map map[] = {T_MAP};
    dcap c;
    dcap_open(&c, map, 1, path, "s");
    pgh_position pos = {.lsn = 0x5000, .checkpoint = 0x4000, .phase = "catchup",
                        .resume = (char *)"r"};
    pgh_error err = {0};
    ok(c.ops->write_position(c.user, &pos, &err), &err, "write_position");
    CHECK(exists(path));
    CHECK_INT(d_flush(&c), 0x5000);
    dcap_close(&c);
    dcap_open(&c, map, 1, path, "s");
    pgh_position back = {0};
    ok(c.ops->read_position(c.user, &back, &err), &err, "read_position");
    CHECK_INT(back.lsn, 0x5000);
    CHECK_INT(back.checkpoint, 0x4000);
    CHECK(strcmp(back.phase, "catchup") == 0);
    CHECK(back.resume != NULL && strcmp(back.resume, "r") == 0);
    free(back.resume);
    dcap_close(&c);
    scratch_remove(path);
}

static void state_slot_mismatch(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/state.json", scratch_dir());
    pgh_table_map map[] = {T_MAP};
    dcap c;
    dcap_open(&c, map, 1, path, "slot_a");
    pgh_position pos = {.lsn = 0x5000, .phase = "follow"};
    pgh_error err = {0};
    ok(c.ops->write_position(c.user, &pos, &err), &err, "write_position");
    dcap_close(&c);
    dcap_open(&c, map, 1, path, "slot_b");
    pgh_position back = {0};
    CHECK_INT(c.ops->read_position(c.user, &back, &err), PGH_ECONFIG);
    CHECK_MSG(&err, "belongs to slot slot_a, not slot_b");
    CHECK_MSG(&err, path);
    CHECK_MSG(&err, "HINT: ");
    CHECK(back.lsn == 0 && back.resume == NULL);
    dcap_close(&c);
    scratch_remove(path);
}

/* A state file that is not one pghost wrote: PGH_ECONFIG naming the file. */
static void state_garbled(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/state.json", scratch_dir());
    pgh_table_map map[] = {T_MAP};
    const char *bad[] = {
        "{\"version\":1,\"slot\":\"s\",\"lsn\":\"0/1",
        "",
        "[]",
        "{\"version\":1,\"slot\":\"s\",\"lsn\":\"0/10\",\"checkpoint\":\"0/0\",\"phase\":\"x\"}",
        "{\"version\":1,\"slot\":\"s\",\"lsn\":\"16\",\"checkpoint\":\"0/0\",\"phase\":\"x\","
        "\"resume\":null}",
        "{\"version\":1,\"slot\":\"s\",\"lsn\":\"0/10\",\"checkpoint\":\"0/0\","
        "\"phase\":\"a phase much too long\",\"resume\":null}",
        "{\"version\":1,\"slot\":\"s\",\"lsn\":\"0/10\",\"checkpoint\":\"0/0\",\"phase\":\"x\","
        "\"resume\":5}",
        "{\"version\":1,\"slot\":\"s\",\"lsn\":\"0/10\",\"checkpoint\":\"0/0\",\"phase\":\"x\","
        "\"resume\":\"a\\u0000b\"}",
        "{\"version\":2,\"slot\":\"s\",\"lsn\":\"0/10\",\"checkpoint\":\"0/0\",\"phase\":\"x\","
        "\"resume\":null}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_text(path, bad[i]);
        dcap c;
        dcap_open(&c, map, 1, path, "s");
        pgh_position back = {0};
        pgh_error err = {0};
        int rc = c.ops->read_position(c.user, &back, &err);
        if (rc != PGH_ECONFIG)
            fprintf(stderr, "state file %zu: rc %d\n", i, rc);
        CHECK_INT(rc, PGH_ECONFIG);
        CHECK_MSG(&err, path);
        CHECK(back.lsn == 0 && back.resume == NULL);
        dcap_close(&c);
    }
    scratch_remove(path);
}

/* The state file cannot be written (its directory does not exist): flush and write_position
 * fail with PGH_ESINK naming the file and the reason; the lines themselves are out. */
static void state_write_failure(void)
{
    const char *path = "/nonexistent-pghost-dir/state.json";
    pgh_table_map map[] = {T_MAP};
    dcap c;
    dcap_open(&c, map, 1, path, "s");
    pgh_position none = {0};
    pgh_error err = {0};
    ok(c.ops->read_position(c.user, &none, &err), &err, "read_position"); /* no file: fine */
    d_begin(&c, TXN_FINAL);
    d_commit(&c, TXN_FINAL, (pgh_position){.phase = "follow"});
    pgh_lsn lsn = 99;
    CHECK_INT(c.ops->flush(c.user, &lsn, &err), PGH_ESINK);
    CHECK_INT(lsn, 0); /* the position is not durable */
    CHECK_MSG(&err, "state file /nonexistent-pghost-dir/state.json.tmp: creating failed: "
                    "No such file or directory");
    CHECK(strchr(err.message, '\n') == NULL); /* one line */
    pgh_error_clear(&err);
    pgh_position pos = {.lsn = 0x10};
    CHECK_INT(c.ops->write_position(c.user, &pos, &err), PGH_ESINK);
    CHECK_MSG(&err, "No such file or directory");
    dcap_close(&c);
}

/* Without a state file, flush reports the last commit once the lines are flushed. */
static void destination_flush_no_state(void)
{
    pgh_table_map map[] = {T_MAP};
    dcap c;
    dcap_open(&c, map, 1, NULL, NULL);
    pgh_position none = {.lsn = 7};
    pgh_error err = {0};
    ok(c.ops->read_position(c.user, &none, &err), &err, "read_position");
    CHECK_INT(none.lsn, 7); /* left as the pipeline set it */
    CHECK_INT(d_flush(&c), 0);
    d_begin(&c, 0x1000);
    CHECK_INT(d_flush(&c), 0);
    d_commit(&c, 0x1000, (pgh_position){0});
    CHECK_INT(d_flush(&c), 0x1030);
    dcap_close(&c);
}

/* The output fails: the call fails with PGH_ESINK and every later one too (sticky). */
static void destination_write_error(void)
{
    pgh_relation rel = REL(16530, "public", "t", t_cols);
    pgh_table_map map[] = {T_MAP};
    pgh_value v[] = {T("1"), T("x"), NUL};
    pgh_tuple rows[] = {TUP(v)};
    FILE *f = fopen("/dev/null", "r");
    CHECK(f != NULL);
    pgh_json_opts opts = PGH_JSON_OPTS_INIT;
    opts.out = f;
    pgh_destination *d = NULL;
    pgh_error err = {0};
    ok(pgh_json_destination_new(&d, &opts, &err), &err, "new");
    const pgh_destination_ops *ops = pgh_destination_ops_of(d);
    void *u = pgh_destination_user(d);
    pgh_config cfg = {0};
    cfg.tables = map;
    cfg.ntables = 1;
    pgh_destination_info info = {&cfg, "s", false, NULL};
    ok(ops->open(u, &info, &err), &err, "open");
    pgh_change b = begin_c(TXN_FINAL, TXN_TIME, TXN_XID);
    ok(ops->begin(u, &b, &err), &err, "begin");
    pgh_table_rows t = {.table = &rel, .lsn = WM};
    CHECK_INT(ops->table_rows(u, &t, rows, 1, &err), PGH_ESINK);
    CHECK_MSG(&err, "writing to stdout failed: Bad file descriptor");
    pgh_error_clear(&err);
    pgh_change cm = commit_c(TXN_FINAL, TXN_FINAL + 0x30);
    pgh_position after = {.lsn = TXN_FINAL + 0x30};
    CHECK_INT(ops->commit(u, &cm, &after, &err), PGH_ESINK);
    CHECK_MSG(&err, "failed earlier");
    pgh_error_clear(&err);
    pgh_lsn lsn = 99;
    CHECK_INT(ops->flush(u, &lsn, &err), PGH_ESINK);
    CHECK_INT(lsn, 0);
    ops->close(u);
    pgh_destination_free(d);
    fclose(f);
    free_tracked();
}

/* pgh_destination_new checks the callback table and destroys the user pointer when it fails;
 * pgh_json_destination_new checks its options. */
static int destroyed;
static void count_destroy(void *user)
{
    destroyed += user == (void *)&destroyed;
}
static int stub_open(void *u, const pgh_destination_info *i, pgh_error *e) { return 0; }
static int stub_change(void *u, const pgh_change *c, pgh_error *e) { return 0; }
static int stub_commit(void *u, const pgh_change *c, const pgh_position *p, pgh_error *e)
{
    return 0;
}

static void destination_new_checks(void)
{
    pgh_destination_ops ops = {.version = PGH_DESTINATION_OPS_VERSION, .name = "stub",
                               .destroy = count_destroy, .open = stub_open,
                               .change = stub_change, .commit = stub_commit};
    pgh_destination *d = NULL;
    pgh_error err = {0};
    ok(pgh_destination_new(&d, &ops, &destroyed, &err), &err, "new");
    CHECK(pgh_destination_ops_of(d) == &ops);
    CHECK(pgh_destination_user(d) == &destroyed);
    pgh_destination_free(d);
    CHECK_INT(destroyed, 1);
    pgh_destination_free(NULL);

    ops.version = 99;
    d = (pgh_destination *)1;
    CHECK_INT(pgh_destination_new(&d, &ops, &destroyed, &err), PGH_ECONFIG);
    CHECK(d == NULL);
    CHECK_MSG(&err, "destination stub: callback table version 99, expected 1");
    CHECK_INT(destroyed, 2);
    ops.version = PGH_DESTINATION_OPS_VERSION;
    ops.commit = NULL;
    pgh_error_clear(&err);
    CHECK_INT(pgh_destination_new(&d, &ops, &destroyed, &err), PGH_ECONFIG);
    CHECK_MSG(&err, "destination stub: no commit callback");
    CHECK_INT(destroyed, 3);
    ops.commit = stub_commit;
    ops.open = NULL;
    pgh_error_clear(&err);
    CHECK_INT(pgh_destination_new(&d, &ops, &destroyed, &err), PGH_ECONFIG);
    CHECK_MSG(&err, "no open callback");
    ops.destroy = NULL; /* without destroy, nothing to call */
    pgh_error_clear(&err);
    CHECK_INT(pgh_destination_new(&d, &ops, &destroyed, &err), PGH_ECONFIG);
    CHECK_INT(destroyed, 4);

    pgh_json_opts jo = PGH_JSON_OPTS_INIT;
    pgh_error_clear(&err);
    CHECK_INT(pgh_json_destination_new(&d, &jo, &err), PGH_ECONFIG);
    CHECK_MSG(&err, "no output stream");
    jo.out = stdout;
    jo.version = 7;
    pgh_error_clear(&err);
    CHECK_INT(pgh_json_destination_new(&d, &jo, &err), PGH_ECONFIG);
    CHECK_MSG(&err, "options version 7, expected 1");
    /* a state file needs a slot to be tied to */
    jo.version = PGH_JSON_OPTS_VERSION;
    jo.state_file = "/tmp/unused-state.json";
    ok(pgh_json_destination_new(&d, &jo, &err), &err, "new");
    pgh_config cfg = {0};
    pgh_destination_info info = {&cfg, NULL, false, NULL};
    pgh_error_clear(&err);
    CHECK_INT(pgh_destination_ops_of(d)->open(pgh_destination_user(d), &info, &err),
              PGH_ECONFIG);
    CHECK_MSG(&err, "needs a slot name");
    pgh_destination_ops_of(d)->close(pgh_destination_user(d));
    pgh_destination_free(d);
}

/* clang-format on */

/* ---- main ---- */

typedef struct test_case {
    const char *name;
    void (*fn)(void);
} test_case;

#define ENTRY(name) {#name, name},
static const test_case cases[] = {CASES(ENTRY)};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <case>\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (strcmp(cases[i].name, argv[1]) == 0) {
            cases[i].fn();
            return 0;
        }
    }
    fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
}
