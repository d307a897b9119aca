/*
 * test_replmsg.c - streaming replication framing: 'w' and 'k' frames captured from PostgreSQL 15
 * (tests/fixtures/pgoutput/repl_frames.hex), the 'r' status update, the PostgreSQL clock.
 */
#include "decode_test.h"

#include "decode/decode.h"

TEST_CASE(keepalive)
{
    fx_file fx = fx_load("repl_frames.hex");
    const fx_msg *m = fx_find(&fx, "keepalive-first");
    pgh_repl_msg msg;
    pgh_error err = {0};
    CHECK_INT(pgh_repl_msg_parse(&msg, m->data, m->len, &err), 0);
    CHECK_INT(msg.kind, 'k');
    CHECK_U64(msg.wal_start, 0);
    CHECK_U64(msg.wal_end, 0x1966b78);
    CHECK_U64(msg.send_time, 0x000303f505e21336);
    CHECK(!msg.reply_requested);
    CHECK(msg.payload == NULL);
    CHECK_INT(msg.payload_len, 0);
    /* The same frame asking for a reply. */
    uint8_t *p = exact_copy(m->data, m->len);
    p[17] = 1;
    CHECK_INT(pgh_repl_msg_parse(&msg, p, m->len, &err), 0);
    CHECK(msg.reply_requested);
    free(p);
    fx_free(&fx);
}

TEST_CASE(xlogdata)
{
    fx_file fx = fx_load("repl_frames.hex");
    const fx_msg *m = fx_find(&fx, "xlogdata-begin");
    pgh_repl_msg msg;
    pgh_error err = {0};
    CHECK_INT(pgh_repl_msg_parse(&msg, m->data, m->len, &err), 0);
    CHECK_INT(msg.kind, 'w');
    CHECK_U64(msg.wal_start, 0x1966bf0);
    CHECK_U64(msg.wal_end, 0x1966bf0);
    CHECK_U64(msg.send_time, 0x000303f505e217ef);
    CHECK(msg.payload == m->data + 25);
    CHECK_INT(msg.payload_len, m->len - 25);
    CHECK_INT(msg.payload[0], 'B');
    fx_free(&fx);
}

/* Every captured frame parses, and the 'w' payloads decode as pgoutput, in order. */
TEST_CASE(frames_to_changes)
{
    fx_file fx = fx_load("repl_frames.hex");
    pgh_decoder *dec = NULL;
    CHECK(pgh_decoder_new(&dec) == 0);
    const char kinds[] = {'B', 'Y', 'R', 'I', 'I', 'C'};
    size_t nw = 0;
    for (size_t i = 0; i < fx.n; i++) {
        pgh_repl_msg msg;
        pgh_error err = {0};
        CHECK_INT(pgh_repl_msg_parse(&msg, fx.msgs[i].data, fx.msgs[i].len, &err), 0);
        if (msg.kind != 'w')
            continue;
        pgh_change c;
        CHECK_INT(pgh_decoder_feed(dec, &c, msg.payload, msg.payload_len, msg.wal_start, &err), 0);
        CHECK(nw < sizeof(kinds));
        CHECK_INT(c.kind, kinds[nw++]);
        CHECK_U64(c.wal_start, msg.wal_start);
    }
    CHECK_INT(nw, sizeof(kinds));
    pgh_decoder_free(dec);
    fx_free(&fx);
}

/* Prefixes: a keepalive must be whole; XLogData needs its 25-byte header, then any payload. */
TEST_CASE(truncated_frames)
{
    fx_file fx = fx_load("repl_frames.hex");
    for (size_t i = 0; i < fx.n; i++) {
        const fx_msg *m = &fx.msgs[i];
        for (size_t len = 0; len < m->len; len++) {
            uint8_t *p = exact_copy(m->data, len);
            pgh_repl_msg msg;
            pgh_error err = {0};
            int rc = pgh_repl_msg_parse(&msg, p, len, &err);
            if (m->data[0] == 'w' && len >= 25) {
                CHECK_INT(rc, 0);
                CHECK_INT(msg.payload_len, len - 25);
            } else {
                CHECK_INT(rc, PGH_EPROTO);
                CHECK_INT(err.code, PGH_EPROTO);
                CHECK(strncmp(err.message, "replication stream: ", 20) == 0);
            }
            free(p);
        }
    }
    fx_free(&fx);
}

TEST_CASE(malformed_frames)
{
    pgh_repl_msg msg;
    pgh_error err = {0};
    CHECK_INT(pgh_repl_msg_parse(&msg, NULL, 0, &err), PGH_EPROTO);
    CHECK_MSG(&err, "empty CopyData message");
    pgh_error_clear(&err);
    const uint8_t unknown[] = {'x', 0, 0};
    CHECK_INT(pgh_repl_msg_parse(&msg, unknown, sizeof(unknown), &err), PGH_EPROTO);
    CHECK_MSG(&err, "unknown CopyData message type 0x78 (length 3)");
    pgh_error_clear(&err);
    uint8_t k[19] = {'k'};
    CHECK_INT(pgh_repl_msg_parse(&msg, k, 19, &err), PGH_EPROTO);
    CHECK_MSG(&err, "keepalive message of length 19, expected 18");
    CHECK_INT(pgh_repl_msg_parse(&msg, k, 18, NULL), 0);
    pgh_error_clear(&err);
    const uint8_t w[24] = {'w'};
    CHECK_INT(pgh_repl_msg_parse(&msg, w, sizeof(w), &err), PGH_EPROTO);
    CHECK_MSG(&err, "truncated XLogData message (length 24");
    /* An empty payload is a valid frame; the decoder is the one to refuse it. */
    uint8_t w25[25] = {'w'};
    CHECK_INT(pgh_repl_msg_parse(&msg, w25, sizeof(w25), &err), 0);
    CHECK_INT(msg.payload_len, 0);
}

TEST_CASE(status_update)
{
    uint8_t out[PGH_REPL_STATUS_LEN];
    memset(out, 0xee, sizeof(out));
    size_t n =
        pgh_repl_status_build(out, UINT64_C(0x0102030405060708), UINT64_C(0x1112131415161718),
                              UINT64_C(0x2122232425262728), INT64_C(0x3132333435363738), true);
    CHECK_INT(n, 34);
    const uint8_t want[34] = {'r',  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                              0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x21,
                              0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x31, 0x32,
                              0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x01};
    CHECK_MEM(out, n, want, sizeof(want));
    pgh_repl_status_build(out, 0, 0, 0, -1, false);
    CHECK_INT(out[25], 0xff);
    CHECK_INT(out[32], 0xff);
    CHECK_INT(out[33], 0);
}

TEST_CASE(pg_clock)
{
    int64_t now = pgh_pg_now_us();
    /* After 2024-01-01 (757382400 s after 2000-01-01) and before 2100. */
    CHECK(now > INT64_C(757382400) * 1000000);
    CHECK(now < INT64_C(3155760000) * 1000000);
}

static const test_case cases[] = {
    CASE(keepalive),        CASE(xlogdata),      CASE(frames_to_changes), CASE(truncated_frames),
    CASE(malformed_frames), CASE(status_update), CASE(pg_clock),
};

int main(int argc, char **argv)
{
    return test_main(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
