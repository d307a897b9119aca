/*
 * test_copyscan.c - the COPY TO STDOUT row scanner against output captured from PostgreSQL 15
 * (tests/fixtures/pgoutput/copy_*.hex: table shop.keyed, key (region text, id int)) and
 * hand-made streams.
 */
#include "decode_test.h"

#include "decode/decode.h"

/* Feed bytes as one message, through an exact-size heap copy. */
static int feed(pgh_copy_scan *s, const void *data, size_t len, pgh_error *err)
{
    pgh_error_clear(err);
    uint8_t *p = exact_copy(data, len);
    int rc = pgh_copy_scan_feed(s, p, len, err);
    free(p);
    return rc;
}

#define FEED_LIT(s, lit, err) feed((s), (lit), sizeof(lit) - 1, (err))

static void check_key(const pgh_copy_scan *s, int i, const void *want, size_t want_len)
{
    CHECK(!s->key_null[i]);
    CHECK_MEM(s->key[i].data ? s->key[i].data : "", s->key[i].len, want, want_len);
}

#define CHECK_KEY_LIT(s, i, lit) check_key((s), (i), (lit), sizeof(lit) - 1)

static const uint8_t int4_5[] = {0, 0, 0, 5};

/* ---- captured streams ---- */

TEST_CASE(binary_fixture)
{
    fx_file fx = fx_load("copy_binary.hex");
    pgh_copy_scan s;
    CHECK_INT(pgh_copy_scan_init(&s, PGH_COPY_BINARY, 2), 0);
    size_t total = 0;
    pgh_error err = {0};
    for (size_t i = 0; i < fx.n; i++) {
        CHECK_INT(pgh_copy_scan_feed(&s, fx.msgs[i].data, fx.msgs[i].len, &err), 0);
        total += fx.msgs[i].len;
        CHECK(s.header_done);
        CHECK_INT(s.trailer_seen, i == fx.n - 1);
    }
    CHECK_U64(s.rows, 6);
    CHECK_U64(s.bytes, total);
    /* The last row: ('zz é', 5); binary keys are the raw field bytes. */
    CHECK_KEY_LIT(&s, 0, "zz \xc3\xa9");
    check_key(&s, 1, int4_5, sizeof(int4_5));
    pgh_copy_scan_dispose(&s);
    fx_free(&fx);
}

TEST_CASE(binary_keys_per_row)
{
    fx_file fx = fx_load("copy_binary.hex");
    pgh_copy_scan s;
    CHECK_INT(pgh_copy_scan_init(&s, PGH_COPY_BINARY, 3), 0);
    pgh_error err = {0};
    const fx_msg *m = fx_find(&fx, "row-1");
    CHECK_INT(pgh_copy_scan_feed(&s, m->data, m->len, &err), 0);
    CHECK_KEY_LIT(&s, 0, "eu");
    CHECK_KEY_LIT(&s, 2, "plain");
    m = fx_find(&fx, "row-2");
    CHECK_INT(pgh_copy_scan_feed(&s, m->data, m->len, &err), 0);
    CHECK_KEY_LIT(&s, 1, "\0\0\0\2");
    CHECK(s.key_null[2]); /* note is NULL */
    CHECK_INT(s.key[2].len, 0);
    m = fx_find(&fx, "row-3");
    CHECK_INT(pgh_copy_scan_feed(&s, m->data, m->len, &err), 0);
    CHECK_KEY_LIT(&s, 0, "tab\there");
    CHECK_KEY_LIT(&s, 2, "line\nbreak and back\\slash");
    CHECK_U64(s.rows, 3);
    pgh_copy_scan_dispose(&s);
    fx_free(&fx);
}

TEST_CASE(binary_empty_table)
{
    fx_file fx = fx_load("copy_binary_empty.hex");
    pgh_copy_scan s;
    CHECK_INT(pgh_copy_scan_init(&s, PGH_COPY_BINARY, 2), 0);
    pgh_error err = {0};
    CHECK_INT(pgh_copy_scan_feed(&s, fx.msgs[0].data, fx.msgs[0].len, &err), 0);
    CHECK(s.header_done);
    CHECK(s.trailer_seen);
    CHECK_U64(s.rows, 0);
    CHECK_U64(s.bytes, 21);
    CHECK_INT(s.key[0].len, 0);
    pgh_copy_scan_dispose(&s);
    fx_free(&fx);
}

TEST_CASE(text_fixture)
{
    fx_file fx = fx_load("copy_text.hex");
    pgh_copy_scan s;
    CHECK_INT(pgh_copy_scan_init(&s, PGH_COPY_TEXT, 2), 0);
    size_t total = 0;
    pgh_error err = {0};
    for (size_t i = 0; i < fx.n; i++) {
        CHECK_INT(pgh_copy_scan_feed(&s, fx.msgs[i].data, fx.msgs[i].len, &err), 0);
        total += fx.msgs[i].len;
    }
    CHECK_U64(s.rows, 6);
    CHECK_U64(s.bytes, total);
    CHECK(!s.header_done);
    CHECK(!s.trailer_seen);
    CHECK_KEY_LIT(&s, 0, "zz \xc3\xa9");
    CHECK_KEY_LIT(&s, 1, "5");
    pgh_copy_scan_dispose(&s);
    fx_free(&fx);
}

/* Text keys come back unescaped, and agree with the binary capture of the same rows. */
TEST_CASE(text_keys_per_row)
{
    fx_file tx = fx_load("copy_text.hex");
    fx_file bx = fx_load("copy_binary.hex");
    pgh_copy_scan t;
    pgh_copy_scan b;
    CHECK_INT(pgh_copy_scan_init(&t, PGH_COPY_TEXT, 3), 0);
    CHECK_INT(pgh_copy_scan_init(&b, PGH_COPY_BINARY, 3), 0);
    pgh_error err = {0};
    for (size_t i = 0; i < tx.n; i++) {
        CHECK_INT(pgh_copy_scan_feed(&t, tx.msgs[i].data, tx.msgs[i].len, &err), 0);
        CHECK_INT(pgh_copy_scan_feed(&b, bx.msgs[i].data, bx.msgs[i].len, &err), 0);
        /* region and note are text in both formats */
        CHECK_MEM(t.key[0].data, t.key[0].len, b.key[0].data, b.key[0].len);
        CHECK_INT(t.key_null[2], b.key_null[2]);
        if (!t.key_null[2])
            CHECK_MEM(t.key[2].data ? t.key[2].data : "", t.key[2].len,
                      b.key[2].data ? b.key[2].data : "", b.key[2].len);
        if (strcmp(tx.msgs[i].name, "row-4") == 0) {
            CHECK_KEY_LIT(&t, 0, "vt");
            CHECK_KEY_LIT(&t, 1, "6");
            CHECK_KEY_LIT(&t, 2, "\v\001x");
        }
        if (strcmp(tx.msgs[i].name, "row-5") == 0) {
            CHECK_KEY_LIT(&t, 0, "x\\y");
            CHECK_KEY_LIT(&t, 2, "cr\r bs\b ff\f vtv del\x7f");
        }
        if (strcmp(tx.msgs[i].name, "row-6") == 0)
            CHECK_KEY_LIT(&t, 2, ""); /* empty, not NULL */
    }
    pgh_copy_scan_dispose(&t);
    pgh_copy_scan_dispose(&b);
    fx_free(&tx);
    fx_free(&bx);
}

/*
 * Every prefix of every captured message: a prefix ending on a row boundary is a valid message
 * (zero or more whole rows), anything else is PGH_EPROTO and leaves the state as it was.
 */
static void all_prefixes(const char *file, pgh_copy_format format)
{
    fx_file fx = fx_load(file);
    for (size_t i = 0; i < fx.n; i++) {
        const fx_msg *m = &fx.msgs[i];
        pgh_copy_scan s;
        CHECK_INT(pgh_copy_scan_init(&s, format, 2), 0);
        pgh_error err = {0};
        for (size_t j = 0; j < i; j++)
            CHECK_INT(pgh_copy_scan_feed(&s, fx.msgs[j].data, fx.msgs[j].len, &err), 0);
        pgh_copy_scan before = s;
        for (size_t len = 0; len < m->len; len++) {
            /* Row boundaries inside a captured message: its start, and after the binary header
             * (19 bytes) in the first message. */
            bool boundary = len == 0 || (format == PGH_COPY_BINARY && i == 0 && len == 19);
            int rc = feed(&s, m->data, len, &err);
            if (boundary) {
                CHECK_INT(rc, 0);
                s = before; /* undo; no rows were read, so the key buffers are untouched */
                continue;
            }
            if (rc != PGH_EPROTO)
                fprintf(stderr, "%s: prefix of %zu bytes gave %d\n", m->name, len, rc);
            CHECK_INT(rc, PGH_EPROTO);
            CHECK(strncmp(err.message, "copy: ", 6) == 0);
            CHECK_U64(s.rows, before.rows);
            CHECK_U64(s.bytes, before.bytes);
            CHECK_INT(s.header_done, before.header_done);
            CHECK(s.key[0].data == before.key[0].data && s.key[0].len == before.key[0].len);
        }
        CHECK_INT(feed(&s, m->data, m->len, &err), 0);
        pgh_copy_scan_dispose(&s);
    }
    fx_free(&fx);
}

TEST_CASE(prefixes_binary)
{
    all_prefixes("copy_binary.hex", PGH_COPY_BINARY);
    all_prefixes("copy_binary_empty.hex", PGH_COPY_BINARY);
}

TEST_CASE(prefixes_text)
{
    all_prefixes("copy_text.hex", PGH_COPY_TEXT);
}

/* ---- hand-made ---- */

TEST_CASE(several_rows_per_message)
{
    fx_file fx = fx_load("copy_binary.hex");
    size_t total = 0;
    for (size_t i = 0; i < fx.n; i++)
        total += fx.msgs[i].len;
    uint8_t *all = malloc(total);
    CHECK(all != NULL);
    size_t off = 0;
    for (size_t i = 0; i < fx.n; i++) {
        memcpy(all + off, fx.msgs[i].data, fx.msgs[i].len);
        off += fx.msgs[i].len;
    }
    pgh_copy_scan s;
    CHECK_INT(pgh_copy_scan_init(&s, PGH_COPY_BINARY, 2), 0);
    pgh_error err = {0};
    CHECK_INT(feed(&s, all, total, &err), 0);
    CHECK_U64(s.rows, 6);
    CHECK(s.trailer_seen);
    CHECK_KEY_LIT(&s, 0, "zz \xc3\xa9");
    pgh_copy_scan_dispose(&s);
    free(all);
    fx_free(&fx);

    CHECK_INT(pgh_copy_scan_init(&s, PGH_COPY_TEXT, 2), 0);
    CHECK_INT(FEED_LIT(&s, "a\t1\tx\nb\t2\ty\n", &err), 0);
    CHECK_U64(s.rows, 2);
    CHECK_KEY_LIT(&s, 0, "b");
    CHECK_KEY_LIT(&s, 1, "2");
    pgh_copy_scan_dispose(&s);
}

TEST_CASE(text_escapes)
{
    pgh_copy_scan s;
    pgh_error err = {0};
    CHECK_INT(pgh_copy_scan_init(&s, PGH_COPY_TEXT, 3), 0);
    /* named escapes, octal (1 to 3 digits, wrapping at 0377), hex (1 or 2 digits), \x without a
     * hex digit is x, any other escaped byte is itself */
    CHECK_INT(FEED_LIT(&s,
                       "\\b\\f\\n\\r\\t\\v\\\\\t"
                       "\\101\\7\\0x\\1234\\777\t"
                       "\\x41\\x4g\\xg\\q\\N\\.\n",
                       &err),
              0);
    CHECK_KEY_LIT(&s, 0, "\b\f\n\r\t\v\\");
    CHECK_KEY_LIT(&s, 1, "A\a\0x\1234\377");
    CHECK_KEY_LIT(&s, 2, "A\x04gxgqN.");
    /* \N is NULL only as the whole field; an empty field is the empty string */
    CHECK_INT(FEED_LIT(&s, "\\N\t\t\\Nx\n", &err), 0);
    CHECK(s.key_null[0]);
    CHECK_INT(s.key[0].len, 0);
    CHECK_KEY_LIT(&s, 1, "");
    CHECK_KEY_LIT(&s, 2, "Nx");
    pgh_copy_scan_dispose(&s);
}

/* A backslash makes the next byte data, even a tab or a newline. */
TEST_CASE(text_escaped_separators)
{
    pgh_copy_scan s;
    pgh_error err = {0};
    CHECK_INT(pgh_copy_scan_init(&s, PGH_COPY_TEXT, 2), 0);
    CHECK_INT(FEED_LIT(&s, "a\\\tb\tc\\\nd\n", &err), 0);
    CHECK_U64(s.rows, 1);
    CHECK_KEY_LIT(&s, 0, "a\tb");
    CHECK_KEY_LIT(&s, 1, "c\nd");
    /* Past the keys too: an escaped newline does not end the row, an escaped backslash before a
     * newline does not escape it. */
    CHECK_INT(FEED_LIT(&s, "k\t1\tx\\\ny\\\\\\\\\nk\t2\tz\\\\\n", &err), 0);
    CHECK_U64(s.rows, 3);
    CHECK_KEY_LIT(&s, 1, "2");
    CHECK_INT(FEED_LIT(&s, "k\t3\tx\\\n", &err), PGH_EPROTO);
    CHECK_MSG(&err, "row 4 is cut off");
    pgh_copy_scan_dispose(&s);
}

TEST_CASE(text_malformed)
{
    pgh_copy_scan s;
    pgh_error err = {0};
    CHECK_INT(pgh_copy_scan_init(&s, PGH_COPY_TEXT, 2), 0);
    CHECK_INT(FEED_LIT(&s, "only-one-field\n", &err), PGH_EPROTO);
    CHECK_MSG(&err, "copy: row 1 has 1 fields, fewer than the 2 key columns");
    CHECK_INT(FEED_LIT(&s, "a\t1", &err), PGH_EPROTO);
    CHECK_MSG(&err, "copy: row 1 is cut off at byte 3 of its CopyData message (length 3)");
    CHECK_INT(FEED_LIT(&s, "a\t1\\", &err), PGH_EPROTO);
    CHECK_INT(FEED_LIT(&s, "a\t1\nb\t2", &err), PGH_EPROTO);
    CHECK_MSG(&err, "row 2 is cut off");
    CHECK_INT(FEED_LIT(&s, "\n", &err), PGH_EPROTO);
    CHECK_U64(s.rows, 0);
    CHECK_U64(s.bytes, 0);
    CHECK_INT(FEED_LIT(&s, "", &err), 0);
    pgh_copy_scan_dispose(&s);
}

/* The 19-byte header: signature, flags, extension length. */
static void put_header(bytes *b, uint32_t flags, uint32_t ext_len)
{
    putmem(b, "PGCOPY\n\377\r\n", 11);
    put32(b, flags);
    put32(b, ext_len);
}

static void put_row(bytes *b, const char *k1, uint32_t k2)
{
    put16(b, 2);
    put32(b, (uint32_t)strlen(k1));
    putmem(b, k1, strlen(k1));
    put32(b, 4);
    put32(b, k2);
}

TEST_CASE(binary_header_extension)
{
    pgh_copy_scan s;
    pgh_error err = {0};
    CHECK_INT(pgh_copy_scan_init(&s, PGH_COPY_BINARY, 2), 0);
    bytes b = {.len = 0};
    put_header(&b, UINT32_C(1) << 20, 3); /* a non-critical flag is fine */
    putmem(&b, "ext", 3);
    put_row(&b, "k", 7);
    CHECK_INT(feed(&s, b.data, b.len, &err), 0);
    CHECK_KEY_LIT(&s, 0, "k");
    CHECK_KEY_LIT(&s, 1, "\0\0\0\7");
    pgh_copy_scan_dispose(&s);
}

TEST_CASE(binary_malformed)
{
    pgh_copy_scan s;
    pgh_error err = {0};
    CHECK_INT(pgh_copy_scan_init(&s, PGH_COPY_BINARY, 2), 0);
    bytes b = {.len = 0};
    putmem(&b, "PGCOPY\n\377\r\r", 11);
    put32(&b, 0);
    put32(&b, 0);
    CHECK_INT(feed(&s, b.data, b.len, &err), PGH_EPROTO);
    CHECK_MSG(&err, "PGCOPY signature");
    /* header split across messages */
    b.len = 0;
    put_header(&b, 0, 0);
    CHECK_INT(feed(&s, b.data, 10, &err), PGH_EPROTO);
    CHECK_MSG(&err, "truncated binary COPY header");
    /* flags: a critical bit, or OIDs */
    b.len = 0;
    put_header(&b, 1, 0);
    CHECK_INT(feed(&s, b.data, b.len, &err), PGH_EPROTO);
    CHECK_MSG(&err, "flags 0x00000001");
    b.len = 0;
    put_header(&b, UINT32_C(1) << 16, 0);
    CHECK_INT(feed(&s, b.data, b.len, &err), PGH_EPROTO);
    /* extension length negative or past the end */
    b.len = 0;
    put_header(&b, 0, 0xffffffff);
    CHECK_INT(feed(&s, b.data, b.len, &err), PGH_EPROTO);
    CHECK_MSG(&err, "extension length -1");
    b.len = 0;
    put_header(&b, 0, 1);
    CHECK_INT(feed(&s, b.data, b.len, &err), PGH_EPROTO);
    CHECK(!s.header_done);

    /* Rows, after a good header. */
    b.len = 0;
    put_header(&b, 0, 0);
    CHECK_INT(feed(&s, b.data, b.len, &err), 0);
    CHECK(s.header_done);
    b.len = 0;
    put16(&b, 0xfffe); /* negative field count other than the trailer */
    CHECK_INT(feed(&s, b.data, b.len, &err), PGH_EPROTO);
    CHECK_MSG(&err, "negative field count -2");
    b.len = 0;
    put16(&b, 1); /* fewer fields than keys */
    put32(&b, 0);
    CHECK_INT(feed(&s, b.data, b.len, &err), PGH_EPROTO);
    CHECK_MSG(&err, "row 1 has 1 fields at byte 0, fewer than the 2 key columns");
    b.len = 0;
    put16(&b, 2);
    put32(&b, 0xfffffffe); /* length -2 */
    CHECK_INT(feed(&s, b.data, b.len, &err), PGH_EPROTO);
    CHECK_MSG(&err, "field 1 has length -2");
    b.len = 0;
    put16(&b, 2);
    put32(&b, 0xffffffff); /* NULL */
    put32(&b, 5);
    putmem(&b, "1234", 4);
    CHECK_INT(feed(&s, b.data, b.len, &err), PGH_EPROTO);
    CHECK_MSG(&err, "row 1 is cut off in field 2 at byte 6");
    b.len = 0;
    put16(&b, 2);
    put32(&b, 0x7fffffff);
    CHECK_INT(feed(&s, b.data, b.len, &err), PGH_EPROTO);
    b.len = 0;
    put8(&b, 0); /* half a field count */
    CHECK_INT(feed(&s, b.data, b.len, &err), PGH_EPROTO);
    CHECK_U64(s.rows, 0);

    /* A NULL key, then data after the trailer: in the same message, and in the next one. */
    b.len = 0;
    put16(&b, 3);
    put32(&b, 0xffffffff);
    put32(&b, 1);
    put8(&b, 9);
    put32(&b, 0);
    CHECK_INT(feed(&s, b.data, b.len, &err), 0);
    CHECK(s.key_null[0]);
    CHECK_KEY_LIT(&s, 1, "\x09");
    b.len = 0;
    put16(&b, 0xffff);
    put16(&b, 0);
    CHECK_INT(feed(&s, b.data, b.len, &err), PGH_EPROTO);
    CHECK_MSG(&err, "2 bytes after the binary COPY trailer at byte 2");
    CHECK(!s.trailer_seen);
    CHECK_INT(feed(&s, b.data, 2, &err), 0);
    CHECK(s.trailer_seen);
    CHECK_INT(feed(&s, b.data + 2, 2, &err), PGH_EPROTO);
    CHECK_INT(feed(&s, b.data, 0, &err), 0);
    CHECK_U64(s.rows, 1);
    pgh_copy_scan_dispose(&s);
}

TEST_CASE(init_checks)
{
    pgh_copy_scan s;
    CHECK_INT(pgh_copy_scan_init(&s, PGH_COPY_TEXT, 0), PGH_ECONFIG);
    CHECK_INT(pgh_copy_scan_init(&s, PGH_COPY_TEXT, PGH_COPY_MAX_KEYS + 1), PGH_ECONFIG);
    CHECK_INT(pgh_copy_scan_init(&s, (pgh_copy_format)7, 1), PGH_ECONFIG);
    pgh_copy_scan_dispose(&s); /* harmless after a failed init */
    pgh_copy_scan_dispose(NULL);
    CHECK_INT(pgh_copy_scan_init(&s, PGH_COPY_TEXT, PGH_COPY_MAX_KEYS), 0);
    char row[3 * PGH_COPY_MAX_KEYS + 1];
    size_t n = 0;
    for (int i = 0; i < PGH_COPY_MAX_KEYS; i++) {
        row[n++] = (char)('a' + i % 26);
        row[n++] = i + 1 < PGH_COPY_MAX_KEYS ? '\t' : '\n';
    }
    pgh_error err = {0};
    CHECK_INT(feed(&s, row, n, &err), 0);
    CHECK_KEY_LIT(&s, PGH_COPY_MAX_KEYS - 1, "f");
    pgh_copy_scan_dispose(&s);
}

static const test_case cases[] = {
    CASE(binary_fixture),     CASE(binary_keys_per_row),
    CASE(binary_empty_table), CASE(text_fixture),
    CASE(text_keys_per_row),  CASE(prefixes_binary),
    CASE(prefixes_text),      CASE(several_rows_per_message),
    CASE(text_escapes),       CASE(text_escaped_separators),
    CASE(text_malformed),     CASE(binary_header_extension),
    CASE(binary_malformed),   CASE(init_checks),
};

int main(int argc, char **argv)
{
    return test_main(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
