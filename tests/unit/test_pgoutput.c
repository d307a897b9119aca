/*
 * test_pgoutput.c - the pgoutput decoder against messages captured from PostgreSQL 15
 * (tests/fixtures/pgoutput/stream_*.hex, produced by capture.sql) and hand-made malformed ones.
 */
#include "decode_test.h"

#include "decode/decode.h"

#define OID_ITEMS 16393u
#define OID_DOCS 16400u
#define OID_HIST 16408u
#define OID_PARENT 16414u
#define OID_CHILD 16421u
#define OID_MOOD 16387u

#define WAL_START UINT64_C(0x1234ABCD)

/* Fresh decoder fed messages [0, upto) of fx, each of which must decode. */
static pgh_decoder *decoder_upto(const fx_file *fx, size_t upto)
{
    pgh_decoder *dec = NULL;
    CHECK(pgh_decoder_new(&dec) == 0);
    for (size_t i = 0; i < upto; i++) {
        pgh_change c;
        pgh_error err = {0};
        int rc = pgh_decoder_feed(dec, &c, fx->msgs[i].data, fx->msgs[i].len, WAL_START, &err);
        if (rc != 0)
            fprintf(stderr, "message %zu (%s): %s\n", i, fx->msgs[i].name, err.message);
        CHECK_INT(rc, 0);
    }
    return dec;
}

/* Decode the fixture message named name, after everything before it in the file. */
typedef struct decoded {
    fx_file fx;
    pgh_decoder *dec;
    pgh_change c;
} decoded;

static decoded decode_named(const char *file, const char *name)
{
    decoded d;
    d.fx = fx_load(file);
    size_t i = fx_index(&d.fx, name);
    d.dec = decoder_upto(&d.fx, i);
    pgh_error err = {0};
    int rc = pgh_decoder_feed(d.dec, &d.c, d.fx.msgs[i].data, d.fx.msgs[i].len, WAL_START, &err);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", name, err.message);
    CHECK_INT(rc, 0);
    CHECK_INT(err.code, 0);
    CHECK_U64(d.c.wal_start, WAL_START);
    return d;
}

static void decoded_free(decoded *d)
{
    pgh_decoder_free(d->dec);
    fx_free(&d->fx);
}

/* Feed a hand-made message; returns the code, err filled. */
static int feed_bytes(pgh_decoder *dec, const bytes *b, pgh_error *err)
{
    pgh_change c;
    pgh_error_clear(err);
    uint8_t *copy = exact_copy(b->data, b->len);
    int rc = pgh_decoder_feed(dec, &c, copy, b->len, WAL_START, err);
    free(copy);
    return rc;
}

#define CHECK_VALUE(tup, i, kind_, lit)                                                            \
    do {                                                                                           \
        CHECK_INT((tup).values[i].kind, kind_);                                                    \
        CHECK_STR_LIT((tup).values[i].data, (tup).values[i].len, lit);                             \
    } while (0)

#define CHECK_NULL_VALUE(tup, i)                                                                   \
    do {                                                                                           \
        CHECK_INT((tup).values[i].kind, PGH_VALUE_NULL);                                           \
        CHECK_INT((tup).values[i].len, 0);                                                         \
        CHECK((tup).values[i].data == NULL);                                                       \
    } while (0)

static void check_column(const pgh_relation *rel, int i, const char *name, uint32_t type_oid,
                         int32_t typmod, bool is_key)
{
    CHECK(strcmp(rel->cols[i].name, name) == 0);
    CHECK_INT(rel->cols[i].type_oid, type_oid);
    CHECK_INT(rel->cols[i].typmod, typmod);
    CHECK_INT(rel->cols[i].is_key, is_key);
}

/* ---- whole captured streams ---- */

static void feed_whole_stream(const char *file)
{
    fx_file fx = fx_load(file);
    pgh_decoder *dec = decoder_upto(&fx, fx.n);
    /* Every relation the stream announced is cached under its OID. */
    const uint32_t oids[] = {OID_ITEMS, OID_DOCS, OID_HIST, OID_PARENT, OID_CHILD};
    for (size_t i = 0; i < sizeof(oids) / sizeof(oids[0]); i++) {
        const pgh_relation *rel = pgh_decoder_relation(dec, oids[i]);
        CHECK(rel != NULL);
        CHECK_INT(rel->oid, oids[i]);
    }
    CHECK(pgh_decoder_relation(dec, OID_MOOD) == NULL); /* a type, not a relation */
    pgh_decoder_free(dec);
    fx_free(&fx);
}

TEST_CASE(stream_text_all)
{
    feed_whole_stream("stream_text.hex");
}

TEST_CASE(stream_binary_all)
{
    feed_whole_stream("stream_binary.hex");
}

/* The change kind is the type byte, for every captured message. */
TEST_CASE(stream_kinds)
{
    fx_file fx = fx_load("stream_text.hex");
    pgh_decoder *dec = NULL;
    CHECK(pgh_decoder_new(&dec) == 0);
    for (size_t i = 0; i < fx.n; i++) {
        pgh_change c;
        CHECK_INT(pgh_decoder_feed(dec, &c, fx.msgs[i].data, fx.msgs[i].len, i, NULL), 0);
        CHECK_INT(c.kind, fx.msgs[i].data[0]);
        CHECK_U64(c.wal_start, i);
    }
    pgh_decoder_free(dec);
    fx_free(&fx);
}

/* ---- one case per message kind ---- */

TEST_CASE(begin)
{
    decoded d = decode_named("stream_text.hex", "begin");
    CHECK_INT(d.c.kind, PGH_CHANGE_BEGIN);
    CHECK_U64(d.c.u.begin.final_lsn, 0x1966d70);
    CHECK_U64(d.c.u.begin.commit_time, 0x000303f50562c127);
    CHECK_INT(d.c.u.begin.xid, 0x2e3);
    decoded_free(&d);
}

TEST_CASE(commit)
{
    decoded d = decode_named("stream_text.hex", "commit");
    CHECK_INT(d.c.kind, PGH_CHANGE_COMMIT);
    CHECK_INT(d.c.u.commit.flags, 0);
    CHECK_U64(d.c.u.commit.commit_lsn, 0x1966d70);
    CHECK_U64(d.c.u.commit.end_lsn, 0x1966da0);
    CHECK_U64(d.c.u.commit.commit_time, 0x000303f50562c127);
    decoded_free(&d);
}

TEST_CASE(type_enum)
{
    decoded d = decode_named("stream_text.hex", "type-mood");
    CHECK_INT(d.c.kind, PGH_CHANGE_TYPE);
    CHECK_INT(d.c.u.type.oid, OID_MOOD);
    CHECK(strcmp(d.c.u.type.nspname, "shop") == 0);
    CHECK(strcmp(d.c.u.type.typname, "mood") == 0);
    decoded_free(&d);
}

TEST_CASE(relation_key_and_types)
{
    decoded d = decode_named("stream_text.hex", "relation-items");
    CHECK_INT(d.c.kind, PGH_CHANGE_RELATION);
    const pgh_relation *rel = d.c.u.relation.rel;
    CHECK(rel == pgh_decoder_relation(d.dec, OID_ITEMS));
    CHECK_INT(rel->oid, OID_ITEMS);
    CHECK(strcmp(rel->nspname, "shop") == 0);
    CHECK(strcmp(rel->relname, "items") == 0);
    CHECK_INT(rel->replident, 'd');
    CHECK_INT(rel->ncols, 7);
    check_column(rel, 0, "id", 23, -1, true);
    check_column(rel, 1, "region", 25, -1, true);
    check_column(rel, 2, "name", 1043, 44, false);                  /* varchar(40): 40 + 4 */
    check_column(rel, 3, "price", 1700, (10 << 16 | 2) + 4, false); /* numeric(10,2) */
    check_column(rel, 4, "mood", OID_MOOD, -1, false);              /* the enum */
    check_column(rel, 5, "flag", 16, -1, false);
    check_column(rel, 6, "raw", 17, -1, false);
    decoded_free(&d);
}

TEST_CASE(relation_full_identity)
{
    decoded d = decode_named("stream_text.hex", "relation-hist");
    const pgh_relation *rel = d.c.u.relation.rel;
    CHECK(strcmp(rel->nspname, "public") == 0);
    CHECK(strcmp(rel->relname, "hist") == 0);
    CHECK_INT(rel->replident, 'f');
    CHECK_INT(rel->ncols, 2); /* the dropped column is not sent */
    check_column(rel, 0, "id", 23, -1, true);
    check_column(rel, 1, "note", 25, -1, true);
    decoded_free(&d);
}

TEST_CASE(relation_generated_column)
{
    decoded d = decode_named("stream_text.hex", "relation-docs");
    const pgh_relation *rel = d.c.u.relation.rel;
    CHECK_INT(rel->ncols, 3); /* body_len is generated: not published */
    check_column(rel, 0, "id", 20, -1, true);
    check_column(rel, 2, "body", 25, -1, false);
    decoded_free(&d);
}

TEST_CASE(insert_text_values)
{
    decoded d = decode_named("stream_text.hex", "insert-values");
    CHECK_INT(d.c.kind, PGH_CHANGE_INSERT);
    CHECK(d.c.u.insert.rel == pgh_decoder_relation(d.dec, OID_ITEMS));
    const pgh_tuple t = d.c.u.insert.newtup;
    CHECK_INT(t.natts, 7);
    CHECK_VALUE(t, 0, PGH_VALUE_TEXT, "1");
    CHECK_VALUE(t, 1, PGH_VALUE_TEXT, "eu");
    CHECK_VALUE(t, 2, PGH_VALUE_TEXT, "wid\tget \"\\\" \n \xc3\xa9");
    CHECK_VALUE(t, 3, PGH_VALUE_TEXT, "9.99");
    CHECK_VALUE(t, 4, PGH_VALUE_TEXT, "happy");
    CHECK_VALUE(t, 5, PGH_VALUE_TEXT, "t");
    CHECK_VALUE(t, 6, PGH_VALUE_TEXT, "\\x00ff");
    decoded_free(&d);
}

TEST_CASE(insert_nulls)
{
    decoded d = decode_named("stream_text.hex", "insert-nulls");
    const pgh_tuple t = d.c.u.insert.newtup;
    CHECK_VALUE(t, 0, PGH_VALUE_TEXT, "2");
    CHECK_VALUE(t, 1, PGH_VALUE_TEXT, "us");
    for (int i = 2; i < 7; i++)
        CHECK_NULL_VALUE(t, i);
    decoded_free(&d);
}

TEST_CASE(insert_toasted_value)
{
    decoded d = decode_named("stream_text.hex", "insert-toast");
    const pgh_tuple t = d.c.u.insert.newtup;
    CHECK_INT(t.values[2].kind, PGH_VALUE_TEXT);
    CHECK_INT(t.values[2].len, 10000);
    for (uint32_t i = 0; i < 10000; i++)
        CHECK(t.values[2].data[i] == 'x');
    decoded_free(&d);
}

TEST_CASE(update_old_key)
{
    decoded d = decode_named("stream_text.hex", "update-old-key");
    CHECK_INT(d.c.kind, PGH_CHANGE_UPDATE);
    CHECK(d.c.u.update.rel == pgh_decoder_relation(d.dec, OID_ITEMS));
    CHECK_INT(d.c.u.update.old_kind, 'K');
    const pgh_tuple o = d.c.u.update.oldtup;
    const pgh_tuple n = d.c.u.update.newtup;
    CHECK_INT(o.natts, 7);
    CHECK_VALUE(o, 0, PGH_VALUE_TEXT, "1");
    CHECK_VALUE(o, 1, PGH_VALUE_TEXT, "eu");
    for (int i = 2; i < 7; i++)
        CHECK_NULL_VALUE(o, i); /* only the key is sent */
    CHECK_INT(n.natts, 7);
    CHECK_VALUE(n, 0, PGH_VALUE_TEXT, "3");
    CHECK_VALUE(n, 1, PGH_VALUE_TEXT, "eu");
    CHECK_VALUE(n, 4, PGH_VALUE_TEXT, "happy");
    CHECK(o.values != n.values); /* two tuples, two scratch arrays */
    decoded_free(&d);
}

TEST_CASE(update_no_old_tuple)
{
    decoded d = decode_named("stream_text.hex", "update-no-old");
    CHECK_INT(d.c.u.update.old_kind, 0);
    CHECK_INT(d.c.u.update.oldtup.natts, 0);
    CHECK(d.c.u.update.oldtup.values == NULL);
    CHECK_VALUE(d.c.u.update.newtup, 2, PGH_VALUE_TEXT, "gadget");
    CHECK_VALUE(d.c.u.update.newtup, 4, PGH_VALUE_TEXT, "ok");
    decoded_free(&d);
}

TEST_CASE(update_old_full)
{
    decoded d = decode_named("stream_text.hex", "update-old-full");
    CHECK(d.c.u.update.rel == pgh_decoder_relation(d.dec, OID_HIST));
    CHECK_INT(d.c.u.update.old_kind, 'O');
    CHECK_VALUE(d.c.u.update.oldtup, 0, PGH_VALUE_TEXT, "1");
    CHECK_VALUE(d.c.u.update.oldtup, 1, PGH_VALUE_TEXT, "first");
    CHECK_VALUE(d.c.u.update.newtup, 1, PGH_VALUE_TEXT, "second");
    decoded_free(&d);
}

TEST_CASE(update_unchanged_toast)
{
    decoded d = decode_named("stream_text.hex", "update-unchanged-toast");
    CHECK(d.c.u.update.rel == pgh_decoder_relation(d.dec, OID_DOCS));
    CHECK_INT(d.c.u.update.old_kind, 0);
    const pgh_tuple n = d.c.u.update.newtup;
    CHECK_VALUE(n, 0, PGH_VALUE_TEXT, "1");
    CHECK_VALUE(n, 1, PGH_VALUE_TEXT, "retitled");
    CHECK_INT(n.values[2].kind, PGH_VALUE_UNCHANGED);
    CHECK_INT(n.values[2].len, 0);
    CHECK(n.values[2].data == NULL);
    decoded_free(&d);
}

TEST_CASE(delete_old_key)
{
    decoded d = decode_named("stream_text.hex", "delete-old-key");
    CHECK_INT(d.c.kind, PGH_CHANGE_DELETE);
    CHECK(d.c.u.del.rel == pgh_decoder_relation(d.dec, OID_ITEMS));
    CHECK_INT(d.c.u.del.old_kind, 'K');
    CHECK_VALUE(d.c.u.del.oldtup, 0, PGH_VALUE_TEXT, "2");
    CHECK_VALUE(d.c.u.del.oldtup, 1, PGH_VALUE_TEXT, "us");
    CHECK_NULL_VALUE(d.c.u.del.oldtup, 2);
    decoded_free(&d);
}

TEST_CASE(delete_old_full)
{
    decoded d = decode_named("stream_text.hex", "delete-old-full");
    CHECK_INT(d.c.u.del.old_kind, 'O');
    CHECK_VALUE(d.c.u.del.oldtup, 0, PGH_VALUE_TEXT, "1");
    CHECK_VALUE(d.c.u.del.oldtup, 1, PGH_VALUE_TEXT, "second");
    decoded_free(&d);
}

TEST_CASE(truncate_two_relations)
{
    decoded d = decode_named("stream_text.hex", "truncate");
    CHECK_INT(d.c.kind, PGH_CHANGE_TRUNCATE);
    CHECK_INT(d.c.u.truncate.options, PGH_TRUNCATE_CASCADE | PGH_TRUNCATE_RESTART_IDENTITY);
    CHECK_INT(d.c.u.truncate.nrels, 2);
    CHECK(d.c.u.truncate.rels[0] == pgh_decoder_relation(d.dec, OID_PARENT));
    CHECK(d.c.u.truncate.rels[1] == pgh_decoder_relation(d.dec, OID_CHILD));
    CHECK(strcmp(d.c.u.truncate.rels[1]->relname, "child") == 0);
    decoded_free(&d);
}

TEST_CASE(message_transactional)
{
    decoded d = decode_named("stream_text.hex", "message-transactional");
    CHECK_INT(d.c.kind, PGH_CHANGE_MESSAGE);
    CHECK_INT(d.c.u.message.flags, PGH_MESSAGE_TRANSACTIONAL);
    CHECK_U64(d.c.u.message.lsn, 0x1969e00);
    CHECK(strcmp(d.c.u.message.prefix, "pghost") == 0);
    CHECK_STR_LIT(d.c.u.message.content, d.c.u.message.len, "in a transaction");
    decoded_free(&d);
}

TEST_CASE(message_nontransactional)
{
    decoded d = decode_named("stream_text.hex", "message-nontransactional");
    CHECK_INT(d.c.u.message.flags, 0);
    CHECK(strcmp(d.c.u.message.prefix, "pghost") == 0);
    CHECK_STR_LIT(d.c.u.message.content, d.c.u.message.len, "not transactional\\x00");
    decoded_free(&d);
}

TEST_CASE(origin)
{
    decoded d = decode_named("stream_text.hex", "origin");
    CHECK_INT(d.c.kind, PGH_CHANGE_ORIGIN);
    CHECK_U64(d.c.u.origin.origin_lsn, 0xABCDEF);
    CHECK(strcmp(d.c.u.origin.name, "upstream") == 0);
    decoded_free(&d);
    /* The replayed transaction carries the commit time given to pg_replication_origin_xact_setup:
     * 2024-01-02 03:04:05 UTC in microseconds since 2000-01-01. */
    d = decode_named("stream_text.hex", "commit-origin");
    CHECK_U64(d.c.u.commit.commit_time, INT64_C(757479845) * 1000000);
    decoded_free(&d);
}

/* A second Relation message for the same OID replaces the cached relation. */
TEST_CASE(relation_replaced)
{
    fx_file fx = fx_load("stream_text.hex");
    size_t i = fx_index(&fx, "relation-items-altered");
    pgh_decoder *dec = decoder_upto(&fx, i);
    CHECK_INT(pgh_decoder_relation(dec, OID_ITEMS)->ncols, 7);
    pgh_change c;
    pgh_error err = {0};
    CHECK_INT(pgh_decoder_feed(dec, &c, fx.msgs[i].data, fx.msgs[i].len, 0, &err), 0);
    const pgh_relation *rel = pgh_decoder_relation(dec, OID_ITEMS);
    CHECK(rel == c.u.relation.rel);
    CHECK_INT(rel->ncols, 8);
    check_column(rel, 7, "note", 25, -1, false);
    const fx_msg *ins = fx_find(&fx, "insert-after-alter");
    CHECK_INT(pgh_decoder_feed(dec, &c, ins->data, ins->len, 0, &err), 0);
    CHECK_VALUE(c.u.insert.newtup, 7, PGH_VALUE_TEXT, "a note");
    /* A 7-column tuple no longer matches. */
    const fx_msg *old = fx_find(&fx, "insert-values");
    CHECK_INT(pgh_decoder_feed(dec, &c, old->data, old->len, 0, &err), PGH_EPROTO);
    CHECK_MSG(&err, "pgoutput: Insert message has 7 columns for relation shop.items (OID 16393)");
    CHECK_MSG(&err, "announced 8");
    pgh_decoder_free(dec);
    fx_free(&fx);
}

/* ---- binary values ('b') ---- */

TEST_CASE(binary_values)
{
    decoded d = decode_named("stream_binary.hex", "insert-values");
    const pgh_tuple t = d.c.u.insert.newtup;
    CHECK_VALUE(t, 0, PGH_VALUE_BINARY, "\0\0\0\1");                       /* int4 1 */
    CHECK_VALUE(t, 1, PGH_VALUE_BINARY, "eu");                             /* text */
    CHECK_VALUE(t, 3, PGH_VALUE_BINARY, "\0\2\0\0\0\0\0\2\0\x09\x26\xac"); /* numeric 9.99 */
    CHECK_VALUE(t, 4, PGH_VALUE_BINARY, "happy");                          /* enum_send */
    CHECK_VALUE(t, 5, PGH_VALUE_BINARY, "\1");                             /* bool true */
    CHECK_VALUE(t, 6, PGH_VALUE_BINARY, "\0\xff");                         /* bytea */
    decoded_free(&d);
    d = decode_named("stream_binary.hex", "update-unchanged-toast");
    CHECK_VALUE(d.c.u.update.newtup, 0, PGH_VALUE_BINARY, "\0\0\0\0\0\0\0\1"); /* int8 1 */
    CHECK_INT(d.c.u.update.newtup.values[2].kind, PGH_VALUE_UNCHANGED);
    decoded_free(&d);
}

/* ---- truncation and trailing bytes ---- */

/*
 * Every proper prefix of every captured message is PGH_EPROTO, never a crash and never a
 * success (all lengths and counts come before the data they describe, so no prefix is itself
 * complete), and leaves the relation cache as it was.
 */
static void all_prefixes(const char *file)
{
    fx_file fx = fx_load(file);
    pgh_decoder *dec = NULL;
    CHECK(pgh_decoder_new(&dec) == 0);
    for (size_t i = 0; i < fx.n; i++) {
        const fx_msg *m = &fx.msgs[i];
        uint32_t oid = m->len >= 5 ? (uint32_t)m->data[1] << 24 | (uint32_t)m->data[2] << 16 |
                                         (uint32_t)m->data[3] << 8 | m->data[4]
                                   : 0;
        const pgh_relation *before = pgh_decoder_relation(dec, oid);
        for (size_t len = 0; len < m->len; len++) {
            uint8_t *p = exact_copy(m->data, len);
            pgh_change c;
            pgh_error err = {0};
            int rc = pgh_decoder_feed(dec, &c, p, len, 77, &err);
            if (rc != PGH_EPROTO)
                fprintf(stderr, "%s: prefix of %zu bytes gave %d\n", m->name, len, rc);
            CHECK_INT(rc, PGH_EPROTO);
            CHECK_INT(err.code, PGH_EPROTO);
            CHECK_U64(err.lsn, 77);
            CHECK(strncmp(err.message, "pgoutput: ", 10) == 0);
            if (len > 0)
                CHECK(strstr(err.message, "truncated") != NULL);
            free(p);
        }
        CHECK(pgh_decoder_relation(dec, oid) == before);
        pgh_change c;
        CHECK_INT(pgh_decoder_feed(dec, &c, m->data, m->len, 0, NULL), 0);
    }
    pgh_decoder_free(dec);
    fx_free(&fx);
}

TEST_CASE(truncated_prefixes_text)
{
    all_prefixes("stream_text.hex");
}

TEST_CASE(truncated_prefixes_binary)
{
    all_prefixes("stream_binary.hex");
}

TEST_CASE(truncated_message_says_where)
{
    decoded d = decode_named("stream_text.hex", "insert-nulls");
    const fx_msg *m = fx_find(&d.fx, "insert-nulls");
    pgh_error err = {0};
    pgh_change c;
    CHECK_INT(pgh_decoder_feed(d.dec, &c, m->data, 12, 0, &err), PGH_EPROTO);
    CHECK(strcmp(err.message, "pgoutput: truncated Insert message at byte 9 (length 12)") == 0);
    /* On failure the change is left empty. */
    CHECK_INT(c.kind, 0);
    CHECK(c.u.insert.rel == NULL);
    decoded_free(&d);
}

TEST_CASE(trailing_bytes)
{
    fx_file fx = fx_load("stream_text.hex");
    pgh_decoder *dec = NULL;
    CHECK(pgh_decoder_new(&dec) == 0);
    for (size_t i = 0; i < fx.n; i++) {
        const fx_msg *m = &fx.msgs[i];
        uint8_t *p = malloc(m->len + 1);
        CHECK(p != NULL);
        memcpy(p, m->data, m->len);
        p[m->len] = 0;
        pgh_change c;
        pgh_error err = {0};
        CHECK_INT(pgh_decoder_feed(dec, &c, p, m->len + 1, 0, &err), PGH_EPROTO);
        CHECK_MSG(&err, "1 bytes of trailing data after");
        free(p);
        CHECK_INT(pgh_decoder_feed(dec, &c, m->data, m->len, 0, NULL), 0);
    }
    pgh_decoder_free(dec);
    fx_free(&fx);
}

/* ---- hand-made malformed messages ---- */

/* A Relation message's head for public.t, replica identity default: its ncols columns follow. */
static void put_relation_head(bytes *b, uint32_t oid, uint16_t ncols)
{
    put8(b, 'R');
    put32(b, oid);
    putstr(b, "public");
    putstr(b, "t");
    put8(b, 'd');
    put16(b, ncols);
}

/* Relation 16384 public.t (a int4 key, b text) */
static void put_relation_t(bytes *b, uint16_t ncols)
{
    put_relation_head(b, 16384, ncols);
    put8(b, 1);
    putstr(b, "a");
    put32(b, 23);
    put32(b, 0xffffffff);
    if (ncols > 1) {
        put8(b, 0);
        putstr(b, "b");
        put32(b, 25);
        put32(b, 0xffffffff);
    }
}

static pgh_decoder *decoder_with_t(void)
{
    pgh_decoder *dec = NULL;
    CHECK(pgh_decoder_new(&dec) == 0);
    bytes b = {.len = 0};
    put_relation_t(&b, 2);
    pgh_error err;
    CHECK_INT(feed_bytes(dec, &b, &err), 0);
    return dec;
}

/* Insert into t: 'N', natts, then the caller's columns. */
static void put_insert_head(bytes *b, uint32_t oid, uint16_t natts)
{
    put8(b, 'I');
    put32(b, oid);
    put8(b, 'N');
    put16(b, natts);
}

TEST_CASE(handmade_insert_ok)
{
    pgh_decoder *dec = decoder_with_t();
    bytes b = {.len = 0};
    put_insert_head(&b, 16384, 2);
    put8(&b, 't');
    put32(&b, 0); /* empty string: not NULL, data not NULL */
    put8(&b, 'b');
    put32(&b, 3);
    putmem(&b, "xyz", 3);
    pgh_change c;
    pgh_error err = {0};
    CHECK_INT(pgh_decoder_feed(dec, &c, b.data, b.len, 0, &err), 0);
    CHECK_INT(c.u.insert.newtup.values[0].kind, PGH_VALUE_TEXT);
    CHECK_INT(c.u.insert.newtup.values[0].len, 0);
    CHECK(c.u.insert.newtup.values[0].data != NULL);
    CHECK_VALUE(c.u.insert.newtup, 1, PGH_VALUE_BINARY, "xyz");
    /* The value array is decoder scratch, reused by the next call. */
    const pgh_value *first = c.u.insert.newtup.values;
    CHECK_INT(pgh_decoder_feed(dec, &c, b.data, b.len, 0, &err), 0);
    CHECK(c.u.insert.newtup.values == first);
    pgh_decoder_free(dec);
}

/* An update that leaves a TOASTed key in place: the new row sends the key as unchanged ('u'),
 * PostgreSQL sends the old key beside it, and the decoded new row has that key. A non-key
 * column sent unchanged stays unchanged. */
TEST_CASE(update_unchanged_key_from_old)
{
    pgh_decoder *dec = NULL;
    CHECK(pgh_decoder_new(&dec) == 0);
    bytes r = {.len = 0}; /* public.t (a key, b key, c) */
    put_relation_head(&r, 16385, 3);
    const char *names[3] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        put8(&r, i < 2 ? 1 : 0);
        putstr(&r, names[i]);
        put32(&r, 25);
        put32(&r, 0xffffffff);
    }
    pgh_error err = {0};
    CHECK_INT(feed_bytes(dec, &r, &err), 0);
    bytes b = {.len = 0};
    put8(&b, 'U');
    put32(&b, 16385);
    put8(&b, 'K'); /* old key: a, b; c not part of it */
    put16(&b, 3);
    put8(&b, 't');
    put32(&b, 4);
    putmem(&b, "long", 4);
    put8(&b, 't');
    put32(&b, 1);
    putmem(&b, "7", 1);
    put8(&b, 'n');
    put8(&b, 'N'); /* new row: a unchanged, b changed, c unchanged */
    put16(&b, 3);
    put8(&b, 'u');
    put8(&b, 't');
    put32(&b, 1);
    putmem(&b, "8", 1);
    put8(&b, 'u');
    pgh_change c;
    CHECK_INT(pgh_decoder_feed(dec, &c, b.data, b.len, 0, &err), 0);
    CHECK_INT(c.kind, PGH_CHANGE_UPDATE);
    CHECK_VALUE(c.u.update.newtup, 0, PGH_VALUE_TEXT, "long");
    CHECK_VALUE(c.u.update.newtup, 1, PGH_VALUE_TEXT, "8");
    CHECK_INT(c.u.update.newtup.values[2].kind, PGH_VALUE_UNCHANGED);
    CHECK_VALUE(c.u.update.oldtup, 0, PGH_VALUE_TEXT, "long");
    CHECK_VALUE(c.u.update.oldtup, 1, PGH_VALUE_TEXT, "7");
    pgh_decoder_free(dec);
}

TEST_CASE(empty_message)
{
    pgh_decoder *dec = NULL;
    CHECK(pgh_decoder_new(&dec) == 0);
    pgh_change c;
    pgh_error err = {0};
    CHECK_INT(pgh_decoder_feed(dec, &c, NULL, 0, 0, &err), PGH_EPROTO);
    CHECK_MSG(&err, "pgoutput: empty message");
    pgh_decoder_free(dec);
}

TEST_CASE(unknown_message_type)
{
    pgh_decoder *dec = NULL;
    CHECK(pgh_decoder_new(&dec) == 0);
    /* 'S' is Stream Start: protocol version 2, never sent to a version 1 client. */
    const char types[] = {'X', 'S', 'E', 'A', 'P', 'K', 0, (char)0xff};
    for (size_t i = 0; i < sizeof(types); i++) {
        bytes b = {.len = 0};
        put8(&b, (uint8_t)types[i]);
        put32(&b, 0);
        pgh_error err;
        CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
        CHECK_MSG(&err, "unknown message type");
    }
    pgh_decoder_free(dec);
}

TEST_CASE(unknown_relation)
{
    pgh_decoder *dec = NULL;
    CHECK(pgh_decoder_new(&dec) == 0);
    bytes b = {.len = 0};
    put_insert_head(&b, 16384, 1);
    put8(&b, 'n');
    pgh_error err;
    CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
    CHECK_MSG(&err, "pgoutput: relation OID 16384 was not announced by a Relation message");
    CHECK_MSG(&err, "Insert message at byte 1");
    /* Update, Delete and Truncate check too. */
    const uint8_t kinds[] = {'U', 'D'};
    for (size_t i = 0; i < sizeof(kinds); i++) {
        b.len = 0;
        put8(&b, kinds[i]);
        put32(&b, 99);
        put8(&b, 'K');
        put16(&b, 0);
        CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
        CHECK_MSG(&err, "relation OID 99 was not announced");
    }
    b.len = 0;
    put8(&b, 'T');
    put32(&b, 1);
    put8(&b, 0);
    put32(&b, 5);
    CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
    CHECK_MSG(&err, "relation OID 5 was not announced by a Relation message (Truncate message");
    pgh_decoder_free(dec);
}

TEST_CASE(natts_mismatch)
{
    pgh_decoder *dec = decoder_with_t();
    pgh_error err;
    for (uint16_t natts = 0; natts < 5; natts++) {
        if (natts == 2)
            continue;
        bytes b = {.len = 0};
        put_insert_head(&b, 16384, natts);
        for (uint16_t i = 0; i < natts; i++)
            put8(&b, 'n');
        CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
        CHECK_MSG(&err, "for relation public.t (OID 16384)");
        CHECK_MSG(&err, "announced 2");
    }
    /* A negative count (int16 -1) is no better. */
    bytes b = {.len = 0};
    put_insert_head(&b, 16384, 0xffff);
    CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
    CHECK_MSG(&err, "has -1 columns");
    pgh_decoder_free(dec);
}

TEST_CASE(bad_column_values)
{
    pgh_decoder *dec = decoder_with_t();
    pgh_error err;
    bytes b = {.len = 0};
    /* 't' length past the end */
    put_insert_head(&b, 16384, 2);
    put8(&b, 'n');
    put8(&b, 't');
    put32(&b, 4);
    putmem(&b, "abc", 3);
    CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
    CHECK_MSG(&err, "truncated Insert message at byte 14 (length 17)");
    /* 'b' length past the end, by far */
    b.len = 0;
    put_insert_head(&b, 16384, 2);
    put8(&b, 'b');
    put32(&b, 0x7fffffff);
    put8(&b, 'n');
    CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
    CHECK_MSG(&err, "truncated Insert message at byte 13");
    /* negative length */
    b.len = 0;
    put_insert_head(&b, 16384, 2);
    put8(&b, 'b');
    put32(&b, 0x80000000);
    put8(&b, 'n');
    CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
    CHECK_MSG(&err, "column 1 of public.t has negative length -2147483648 at byte 9");
    /* unknown column kind */
    b.len = 0;
    put_insert_head(&b, 16384, 2);
    put8(&b, 'n');
    put8(&b, 'x');
    CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
    CHECK_MSG(&err, "expected a column kind ('n', 'u', 't' or 'b') at byte 9, got 0x78");
    pgh_decoder_free(dec);
}

TEST_CASE(bad_markers)
{
    pgh_decoder *dec = decoder_with_t();
    pgh_error err;
    bytes b = {.len = 0};
    /* Insert without 'N' */
    put8(&b, 'I');
    put32(&b, 16384);
    put8(&b, 'K');
    put16(&b, 2);
    put8(&b, 'n');
    put8(&b, 'n');
    CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
    CHECK_MSG(&err, "Insert message: expected 'N' at byte 5, got 0x4b");
    /* Update: old tuple then something other than 'N' */
    b.len = 0;
    put8(&b, 'U');
    put32(&b, 16384);
    put8(&b, 'O');
    put16(&b, 2);
    put8(&b, 'n');
    put8(&b, 'n');
    put8(&b, 'K');
    CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
    CHECK_MSG(&err, "Update message: expected 'K', 'O' or 'N' at byte 10");
    /* Delete needs 'K' or 'O' */
    b.data[0] = 'D';
    b.data[5] = 'N';
    b.len = 10;
    CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
    CHECK_MSG(&err, "Delete message: expected 'K' or 'O' at byte 5, got 0x4e");
    b.data[5] = 'O';
    CHECK_INT(feed_bytes(dec, &b, &err), 0);
    pgh_decoder_free(dec);
}

TEST_CASE(bad_relation)
{
    pgh_decoder *dec = decoder_with_t();
    const pgh_relation *before = pgh_decoder_relation(dec, 16384);
    pgh_error err;
    bytes b = {.len = 0};
    put_relation_t(&b, 2);
    size_t ncols_at = 1 + 4 + 7 + 2 + 1;
    /* negative column count */
    b.data[ncols_at] = 0xff;
    b.data[ncols_at + 1] = 0xfe;
    CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
    CHECK_MSG(&err, "Relation message for public.t has negative column count -2");
    /* more columns than the message can hold: refused before anything is allocated for them */
    b.data[ncols_at] = 0x7f;
    b.data[ncols_at + 1] = 0xff;
    CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
    CHECK_MSG(&err, "truncated Relation message: 32767 columns announced at byte 15");
    /* one column more than sent */
    b.data[ncols_at] = 0;
    b.data[ncols_at + 1] = 3;
    CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
    /* bad replica identity */
    b.data[ncols_at + 1] = 2;
    b.data[ncols_at - 1] = 'x';
    CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
    CHECK_MSG(&err, "expected a replica identity");
    /* a column name with no NUL before the end */
    b.len = 0;
    put_relation_head(&b, 16384, 1);
    put8(&b, 1);
    putmem(&b, "abcdefghijk", 11);
    CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
    CHECK_MSG(&err, "truncated Relation message at byte 18 (length 29)");
    /* None of that touched the cache. */
    CHECK(pgh_decoder_relation(dec, 16384) == before);
    CHECK_INT(before->replident, 'd');
    pgh_decoder_free(dec);
}

TEST_CASE(bad_truncate)
{
    pgh_decoder *dec = decoder_with_t();
    pgh_error err;
    bytes b = {.len = 0};
    put8(&b, 'T');
    put32(&b, 0xffffffff);
    put8(&b, 0);
    CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
    CHECK_MSG(&err, "negative relation count -1");
    b.len = 0;
    put8(&b, 'T');
    put32(&b, 0x7fffffff);
    put8(&b, 0);
    put32(&b, 16384);
    CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
    CHECK_MSG(&err, "2147483647 relations announced");
    b.len = 0;
    put8(&b, 'T');
    put32(&b, 2);
    put8(&b, PGH_TRUNCATE_CASCADE);
    put32(&b, 16384);
    put32(&b, 16384);
    CHECK_INT(feed_bytes(dec, &b, &err), 0);
    pgh_decoder_free(dec);
}

TEST_CASE(bad_message_and_origin)
{
    pgh_decoder *dec = NULL;
    CHECK(pgh_decoder_new(&dec) == 0);
    pgh_error err;
    bytes b = {.len = 0};
    put8(&b, 'M');
    put8(&b, 1);
    put64(&b, 1);
    putstr(&b, "p");
    put32(&b, 0x80000001);
    CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
    CHECK_MSG(&err, "negative content length");
    b.len = 12;
    put32(&b, 5);
    putmem(&b, "1234", 4);
    CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
    CHECK_MSG(&err, "truncated Message message at byte 16 (length 20)");
    b.len = 0;
    put8(&b, 'O');
    put64(&b, 1);
    putmem(&b, "no-nul", 6);
    CHECK_INT(feed_bytes(dec, &b, &err), PGH_EPROTO);
    CHECK_MSG(&err, "truncated Origin message at byte 9 (length 15)");
    pgh_decoder_free(dec);
}

/* An error already recorded is kept; the LSN goes with the one recorded. */
TEST_CASE(error_record)
{
    pgh_decoder *dec = NULL;
    CHECK(pgh_decoder_new(&dec) == 0);
    pgh_error err = {0};
    pgh_error_set(&err, PGH_ECONN, "earlier");
    err.lsn = 5;
    uint8_t x = 'X';
    pgh_change c;
    CHECK_INT(pgh_decoder_feed(dec, &c, &x, 1, 9, &err), PGH_EPROTO);
    CHECK_INT(err.code, PGH_ECONN);
    CHECK(strcmp(err.message, "earlier") == 0);
    CHECK_U64(err.lsn, 5);
    CHECK_INT(pgh_decoder_feed(dec, &c, &x, 1, 9, NULL), PGH_EPROTO);
    pgh_decoder_free(dec);
    pgh_decoder_free(NULL);
}

/* Many relations: the cache grows, and every one stays reachable and replaceable. */
TEST_CASE(many_relations)
{
    pgh_decoder *dec = NULL;
    CHECK(pgh_decoder_new(&dec) == 0);
    pgh_error err;
    for (uint32_t oid = 1; oid <= 3000; oid++) {
        bytes b = {.len = 0};
        put8(&b, 'R');
        put32(&b, oid * 7919); /* spread, with collisions */
        putstr(&b, "s");
        char name[32];
        snprintf(name, sizeof(name), "r%u", (unsigned)oid);
        putstr(&b, name);
        put8(&b, 'n');
        put16(&b, (uint16_t)(oid % 40));
        for (uint32_t i = 0; i < oid % 40; i++) {
            put8(&b, 0);
            putstr(&b, "c");
            put32(&b, 25);
            put32(&b, 0xffffffff);
        }
        CHECK_INT(feed_bytes(dec, &b, &err), 0);
    }
    for (uint32_t oid = 1; oid <= 3000; oid++) {
        const pgh_relation *rel = pgh_decoder_relation(dec, oid * 7919);
        CHECK(rel != NULL);
        char name[32];
        snprintf(name, sizeof(name), "r%u", (unsigned)oid);
        CHECK(strcmp(rel->relname, name) == 0);
        CHECK_INT(rel->ncols, oid % 40);
    }
    CHECK(pgh_decoder_relation(dec, 1) == NULL);
    CHECK(pgh_decoder_relation(dec, 0) == NULL);
    pgh_decoder_free(dec);
}

static const test_case cases[] = {
    CASE(stream_text_all),
    CASE(stream_binary_all),
    CASE(stream_kinds),
    CASE(begin),
    CASE(commit),
    CASE(type_enum),
    CASE(relation_key_and_types),
    CASE(relation_full_identity),
    CASE(relation_generated_column),
    CASE(insert_text_values),
    CASE(insert_nulls),
    CASE(insert_toasted_value),
    CASE(update_old_key),
    CASE(update_no_old_tuple),
    CASE(update_old_full),
    CASE(update_unchanged_toast),
    CASE(delete_old_key),
    CASE(delete_old_full),
    CASE(truncate_two_relations),
    CASE(message_transactional),
    CASE(message_nontransactional),
    CASE(origin),
    CASE(relation_replaced),
    CASE(binary_values),
    CASE(truncated_prefixes_text),
    CASE(truncated_prefixes_binary),
    CASE(truncated_message_says_where),
    CASE(trailing_bytes),
    CASE(handmade_insert_ok),
    CASE(update_unchanged_key_from_old),
    CASE(empty_message),
    CASE(unknown_message_type),
    CASE(unknown_relation),
    CASE(natts_mismatch),
    CASE(bad_column_values),
    CASE(bad_markers),
    CASE(bad_relation),
    CASE(bad_truncate),
    CASE(bad_message_and_origin),
    CASE(error_record),
    CASE(many_relations),
};

int main(int argc, char **argv)
{
    return test_main(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
