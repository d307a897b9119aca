/*
 * decode/replmsg.c - the streaming replication protocol's CopyData framing (COPY BOTH mode).
 *
 * From the server:
 *   'w' XLogData           int64 wal_start, int64 wal_end, int64 send_time, payload (the rest)
 *   'k' Primary keepalive  int64 wal_end, int64 send_time, int8 reply_requested
 * To the server:
 *   'r' Standby status     int64 written, int64 flushed, int64 applied, int64 client_time,
 *                          int8 reply_requested
 *
 * Integers are big-endian; times are microseconds since 2000-01-01 00:00 UTC.
 */
#include <string.h>
#include <time.h>

#include "decode/reader.h"
#include "decode/decode.h"

#define XLOGDATA_HEADER_LEN 25 /* 'w' + three int64 */
#define KEEPALIVE_LEN 18       /* 'k' + two int64 + int8 */

/* Seconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC). */
#define PG_EPOCH_OFFSET_S INT64_C(946684800)

int pgh_repl_msg_parse(pgh_repl_msg *out, const uint8_t *buf, size_t len, pgh_error *err)
{
    pgh_reader r;
    memset(out, 0, sizeof(*out));
    pgh_rd_init(&r, buf, len);
    uint8_t kind = pgh_rd_u8(&r);
    if (pgh_rd_failed(&r))
        return pgh_error_set(err, PGH_EPROTO, "replication stream: empty CopyData message");
    switch (kind) {
    case 'w':
        out->wal_start = pgh_rd_u64(&r);
        out->wal_end = pgh_rd_u64(&r);
        out->send_time = pgh_rd_i64(&r);
        out->payload_len = pgh_rd_remaining(&r);
        out->payload = pgh_rd_bytes(&r, out->payload_len);
        if (pgh_rd_failed(&r))
            return pgh_error_set(err, PGH_EPROTO,
                                 "replication stream: truncated XLogData message (length %zu, "
                                 "the header alone is %d)",
                                 len, XLOGDATA_HEADER_LEN);
        break;
    case 'k':
        out->wal_end = pgh_rd_u64(&r);
        out->send_time = pgh_rd_i64(&r);
        out->reply_requested = pgh_rd_u8(&r) != 0;
        if (pgh_rd_failed(&r) || pgh_rd_remaining(&r) != 0)
            return pgh_error_set(err, PGH_EPROTO,
                                 "replication stream: keepalive message of length %zu, expected "
                                 "%d",
                                 len, KEEPALIVE_LEN);
        break;
    default:
        return pgh_error_set(err, PGH_EPROTO,
                             "replication stream: unknown CopyData message type 0x%02x "
                             "(length %zu)",
                             kind, len);
    }
    out->kind = (char)kind;
    return 0;
}

static uint8_t *put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        *p++ = (uint8_t)(v >> (8 * i));
    }
    return p;
}

size_t pgh_repl_status_build(uint8_t out[PGH_REPL_STATUS_LEN], pgh_lsn written, pgh_lsn flushed,
                             pgh_lsn applied, int64_t now_us, bool reply_requested)
{
    uint8_t *p = out;
    *p++ = 'r';
    p = put_u64(p, written);
    p = put_u64(p, flushed);
    p = put_u64(p, applied);
    p = put_u64(p, (uint64_t)now_us);
    *p++ = reply_requested ? 1 : 0;
    return (size_t)(p - out);
}

int64_t pgh_pg_now_us(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return ((int64_t)ts.tv_sec - PG_EPOCH_OFFSET_S) * 1000000 + ts.tv_nsec / 1000;
}
