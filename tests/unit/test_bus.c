/*
 * tests/unit/test_bus.c - the bus format of the NATS mode (src/dest/nats/bus.h): every kind of
 * message built from hand-made changes, rows and positions, decoded, compared field by field
 * with what went in, and encoded again to the same text; malformed messages are PGH_EPROTO.
 *
 * One executable, one case per run: `test_bus <case>` (tests/unit/bus.cmake registers each).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dest/nats/bus.h"
#include "unit_check.h"

static pgh_column COLS[3] = {{"id", 23, -1, true}, {"name.with \"dots\"", 1043, 68, false},
                             {"blob", 17, -1, false}};
static pgh_relation REL = {16384, "public", "t.x y", 'd', 3, COLS};

/* Values: text with a NUL and an escape, NULL, binary, unchanged, invalid UTF-8 text. */
static const char NUL_TEXT[] = {'a', '\0', 'b', '"', '\n'};
static const char BIN[] = {'\0', '\xff', '\x10'};
static const char BAD_UTF8[] = {'\xc3', '\x28'};

static pgh_value V1[3] = {{PGH_VALUE_TEXT, 2, "42"},
                          {PGH_VALUE_TEXT, sizeof(NUL_TEXT), NUL_TEXT},
                          {PGH_VALUE_BINARY, sizeof(BIN), BIN}};
static pgh_value V2[3] = {{PGH_VALUE_TEXT, 2, "43"},
                          {PGH_VALUE_NULL, 0, NULL},
                          {PGH_VALUE_UNCHANGED, 0, NULL}};
static pgh_value V3[3] = {{PGH_VALUE_TEXT, 1, "7"},
                          {PGH_VALUE_TEXT, sizeof(BAD_UTF8), BAD_UTF8},
                          {PGH_VALUE_TEXT, 0, ""}};

static const pgh_bus_id ID = {0x16B3748ULL, 5};

static bool value_eq(const pgh_value *a, const pgh_value *b)
{
    return a->kind == b->kind && a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static bool tuple_eq(const pgh_tuple *a, const pgh_tuple *b)
{
    if (a->natts != b->natts)
        return false;
    for (uint16_t i = 0; i < a->natts; i++)
        if (!value_eq(&a->values[i], &b->values[i]))
            return false;
    return true;
}

/* Decode text, check it is of kind, encode it again: the same text. */
static void decode_again(pgh_bus_msg *m, const char *text, pgh_bus_kind kind)
{
    pgh_error err;
    pgh_error_clear(&err);
    int rc = pgh_bus__decode(m, text, strlen(text), &err);
    if (rc != 0)
        fprintf(stderr, "%s\n%s\n", text, err.message);
    CHECK(rc == 0);
    CHECK(m->kind == kind);
    char *again = pgh_bus__encode_msg(m);
    CHECK(again != NULL && strcmp(again, text) == 0);
    free(again);
}

static void case_begin(void)
{
    pgh_change b = {.kind = PGH_CHANGE_BEGIN, .wal_start = 99};
    b.u.begin.final_lsn = ID.txn;
    b.u.begin.commit_time = 123456789;
    b.u.begin.xid = 4000000000u;
    char *text = pgh_bus__begin(ID, &b, &REL);
    pgh_bus_msg m;
    decode_again(&m, text, PGH_BUS_BEGIN);
    CHECK(m.id.txn == ID.txn && m.id.idx == ID.idx && m.change.wal_start == 99);
    CHECK(m.change.u.begin.xid == b.u.begin.xid && m.change.u.begin.commit_time == 123456789);
    CHECK(m.change.u.begin.final_lsn == ID.txn);
    CHECK(m.has_rel && pgh_bus__rel_equal(&m.rel, &REL));
    pgh_bus__msg_dispose(&m);
    free(text);
    text = pgh_bus__begin(ID, &b, NULL); /* <prefix>._message: no table */
    decode_again(&m, text, PGH_BUS_BEGIN);
    CHECK(!m.has_rel);
    pgh_bus__msg_dispose(&m);
    free(text);
}

static void case_changes(void)
{
    pgh_change c = {.kind = PGH_CHANGE_UPDATE, .wal_start = 0x10};
    c.u.update.rel = &REL;
    c.u.update.old_kind = 'K';
    c.u.update.oldtup = (pgh_tuple){3, V1};
    c.u.update.newtup = (pgh_tuple){3, V2};
    char *text = pgh_bus__change(ID, &c);
    pgh_bus_msg m;
    decode_again(&m, text, PGH_BUS_UPDATE);
    CHECK(m.change.u.update.old_kind == 'K' && m.change.wal_start == 0x10);
    CHECK(tuple_eq(&m.change.u.update.oldtup, &c.u.update.oldtup));
    CHECK(tuple_eq(&m.change.u.update.newtup, &c.u.update.newtup));
    pgh_bus__msg_dispose(&m);
    free(text);
    c.u.update.old_kind = 0; /* no old tuple */
    text = pgh_bus__change(ID, &c);
    decode_again(&m, text, PGH_BUS_UPDATE);
    CHECK(m.change.u.update.old_kind == 0 && m.change.u.update.oldtup.natts == 0);
    pgh_bus__msg_dispose(&m);
    free(text);
    pgh_change d = {.kind = PGH_CHANGE_DELETE};
    d.u.del.rel = &REL;
    d.u.del.old_kind = 'O';
    d.u.del.oldtup = (pgh_tuple){3, V3};
    text = pgh_bus__change(ID, &d);
    decode_again(&m, text, PGH_BUS_DELETE);
    CHECK(m.change.u.del.old_kind == 'O' && tuple_eq(&m.change.u.del.oldtup, &d.u.del.oldtup));
    pgh_bus__msg_dispose(&m);
    free(text);
    pgh_change i = {.kind = PGH_CHANGE_INSERT};
    i.u.insert.rel = &REL;
    i.u.insert.newtup = (pgh_tuple){3, V3};
    text = pgh_bus__change(ID, &i);
    decode_again(&m, text, PGH_BUS_INSERT);
    CHECK(tuple_eq(&m.change.u.insert.newtup, &i.u.insert.newtup));
    pgh_bus__msg_dispose(&m);
    free(text);
}

static void case_others(void)
{
    pgh_change t = {.kind = PGH_CHANGE_TRUNCATE, .wal_start = 77};
    t.u.truncate.options = PGH_TRUNCATE_CASCADE | PGH_TRUNCATE_RESTART_IDENTITY;
    char *text = pgh_bus__truncate(ID, &t);
    pgh_bus_msg m;
    decode_again(&m, text, PGH_BUS_TRUNCATE);
    CHECK(m.change.u.truncate.options == 3 && m.change.wal_start == 77);
    pgh_bus__msg_dispose(&m);
    free(text);
    pgh_change msg = {.kind = PGH_CHANGE_MESSAGE};
    msg.u.message.flags = 1;
    msg.u.message.lsn = 0xABCDEF;
    msg.u.message.prefix = "pghost.ddl";
    msg.u.message.content = NUL_TEXT;
    msg.u.message.len = sizeof(NUL_TEXT);
    text = pgh_bus__message(ID, &msg);
    decode_again(&m, text, PGH_BUS_MESSAGE);
    CHECK(m.change.u.message.flags == 1 && m.change.u.message.lsn == 0xABCDEF);
    CHECK(strcmp(m.change.u.message.prefix, "pghost.ddl") == 0);
    CHECK(m.change.u.message.len == sizeof(NUL_TEXT) &&
          memcmp(m.change.u.message.content, NUL_TEXT, sizeof(NUL_TEXT)) == 0);
    pgh_bus__msg_dispose(&m);
    free(text);
    pgh_change c = {.kind = PGH_CHANGE_COMMIT};
    c.u.commit.flags = 0;
    c.u.commit.commit_lsn = 0x16B3748;
    c.u.commit.end_lsn = 0x16B37A0;
    c.u.commit.commit_time = -5;
    text = pgh_bus__commit(ID, &c, "snapshot");
    decode_again(&m, text, PGH_BUS_COMMIT);
    CHECK(strcmp(m.pos.phase, "snapshot") == 0);
    CHECK(m.change.u.commit.end_lsn == 0x16B37A0 && m.change.u.commit.commit_lsn == 0x16B3748);
    CHECK(m.change.u.commit.commit_time == -5);
    pgh_bus__msg_dispose(&m);
    free(text);
}

static void case_table_rows(void)
{
    pgh_tuple rows[2] = {{3, V1}, {3, V3}};
    pgh_table_rows t = {.table = &REL, .table_index = 2, .lsn = 0x20000, .chunk = 9,
                        .first_row = 100, .reload = true};
    const pgh_bus_kind kinds[3] = {PGH_BUS_TABLE_BEGIN, PGH_BUS_TABLE_ROWS, PGH_BUS_TABLE_END};
    for (int k = 0; k < 3; k++) {
        char *text = pgh_bus__table(ID, kinds[k], &t, rows, 2);
        pgh_bus_msg m;
        decode_again(&m, text, kinds[k]);
        CHECK(m.table.lsn == t.lsn && m.table.chunk == 9 && m.table.first_row == 100);
        CHECK(m.table.reload && pgh_bus__rel_equal(m.table.table, &REL));
        CHECK(m.nrows == (kinds[k] == PGH_BUS_TABLE_ROWS ? 2u : 0u));
        for (size_t i = 0; i < m.nrows; i++)
            CHECK(tuple_eq(&m.rows[i], &rows[i]));
        pgh_bus__msg_dispose(&m);
        free(text);
    }
}

static void case_position(void)
{
    pgh_position p = {.lsn = 0x30000, .checkpoint = 0x2FFFF, .resume = "{\"run\":\"x\"}"};
    snprintf(p.phase, sizeof(p.phase), "snapshot");
    char *text = pgh_bus__position(&p);
    pgh_bus_msg m;
    decode_again(&m, text, PGH_BUS_POSITION);
    CHECK(m.pos.lsn == p.lsn && m.pos.checkpoint == p.checkpoint);
    CHECK(strcmp(m.pos.phase, "snapshot") == 0 && strcmp(m.pos.resume, p.resume) == 0);
    pgh_bus__msg_dispose(&m);
    free(text);
    p.resume = NULL;
    text = pgh_bus__position(&p);
    decode_again(&m, text, PGH_BUS_POSITION);
    CHECK(m.pos.resume == NULL);
    pgh_bus__msg_dispose(&m);
    free(text);
}

static void case_malformed(void)
{
    static const char *const bad[] = {
        "", "[]", "{\"k\":\"Z\",\"txn\":1,\"i\":0,\"w\":0}", "{\"k\":\"I\",\"txn\":1,\"i\":0}",
        "{\"k\":\"I\",\"txn\":-1,\"i\":0,\"w\":0,\"old_kind\":\"\",\"new\":[]}",
        "{\"k\":\"I\",\"txn\":1,\"i\":0,\"w\":0,\"old_kind\":\"\",\"new\":[1]}",
        "{\"k\":\"I\",\"txn\":1,\"i\":0,\"w\":0,\"old_kind\":\"\",\"new\":[{\"x\":\"abc\"}]}",
        "{\"k\":\"I\",\"txn\":1,\"i\":0,\"w\":0,\"old_kind\":\"\",\"new\":[{\"b\":\"zz\"}]}",
        "{\"k\":\"D\",\"txn\":1,\"i\":0,\"w\":0,\"old_kind\":\"\",\"old\":[]}",
        "{\"k\":\"U\",\"txn\":1,\"i\":0,\"w\":0,\"old_kind\":\"K\",\"new\":[]}",
        "{\"k\":\"B\",\"txn\":1,\"i\":0,\"w\":0,\"xid\":1,\"time\":0,\"rel\":{\"oid\":1}}",
        "{\"k\":\"P\",\"txn\":0,\"i\":0,\"w\":0,\"lsn\":1,\"checkpoint\":0,\"phase\":\"12345678901234567\",\"resume\":null}",
        "{\"k\":\"C\",\"txn\":1,\"i\":0,\"w\":0,\"k\":\"C\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pgh_bus_msg m;
        pgh_error err;
        pgh_error_clear(&err);
        int rc = pgh_bus__decode(&m, bad[i], strlen(bad[i]), &err);
        if (rc != PGH_EPROTO)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK(rc == PGH_EPROTO && strncmp(err.message, "bus message: ", 13) == 0);
        pgh_bus__msg_dispose(&m);
    }
}

#define CASES(X)                                                                                   \
    X(begin)                                                                                       \
    X(changes)                                                                                     \
    X(others)                                                                                      \
    X(table_rows)                                                                                  \
    X(position)                                                                                    \
    X(malformed)

int main(int argc, char **argv)
{
    CHECK(argc == 2);
#define RUN(name)                                                                                  \
    if (strcmp(argv[1], #name) == 0) {                                                             \
        case_##name();                                                                             \
        puts("PASS");                                                                              \
        return 0;                                                                                  \
    }
    CASES(RUN)
    fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
}
