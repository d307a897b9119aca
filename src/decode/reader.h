/*
 * decode/reader.h - a bounds-checked big-endian cursor over a borrowed byte span.
 *
 * Every protocol parser in decode/ reads through this, never through raw pointer arithmetic.
 * Failure is sticky: the first read that would run past the end marks the reader failed, leaves
 * the position where the failing read started, and from then on every read returns 0 (or NULL)
 * without moving. A parser reads a whole message and checks pgh_rd_failed() once, instead of
 * testing every field; a 0 from a read is only trusted once the reader is known not to have
 * failed.
 *
 * The fixed-width reads are inline because they are the inner loop of apply. The functions are
 * named pgh_rd_* rather than pgh_decode__rd_* because they appear on nearly every line of the
 * parsers and the short form reads better there.
 */
#ifndef PGH_DECODE_READER_H
#define PGH_DECODE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pgh_reader {
    const uint8_t *buf; /* borrowed: the span being read */
    size_t len;         /* bytes in buf */
    size_t pos;         /* next byte to read; where the failing read started once failed */
    bool failed;        /* sticky: a read ran past the end, or a string had no NUL */
} pgh_reader;

/* buf may be NULL when len is 0. */
static inline void pgh_rd_init(pgh_reader *r, const uint8_t *buf, size_t len)
{
    static const uint8_t empty[1] = {0};
    /* Never keep a NULL base: even NULL + 0 is undefined behaviour. */
    r->buf = buf != NULL ? buf : empty;
    r->len = buf != NULL ? len : 0;
    r->pos = 0;
    r->failed = false;
}

static inline bool pgh_rd_failed(const pgh_reader *r)
{
    return r->failed;
}

/* Bytes left to read (0 once failed). */
static inline size_t pgh_rd_remaining(const pgh_reader *r)
{
    return r->failed ? 0 : r->len - r->pos;
}

/* True when n more bytes can be read; marks the reader failed otherwise. */
static inline bool pgh_rd_need(pgh_reader *r, size_t n)
{
    if (r->failed || n > r->len - r->pos) {
        r->failed = true;
        return false;
    }
    return true;
}

static inline uint8_t pgh_rd_u8(pgh_reader *r)
{
    if (!pgh_rd_need(r, 1))
        return 0;
    return r->buf[r->pos++];
}

static inline uint16_t pgh_rd_u16(pgh_reader *r)
{
    if (!pgh_rd_need(r, 2))
        return 0;
    const uint8_t *p = r->buf + r->pos;
    r->pos += 2;
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t pgh_rd_u32(pgh_reader *r)
{
    if (!pgh_rd_need(r, 4))
        return 0;
    const uint8_t *p = r->buf + r->pos;
    r->pos += 4;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t pgh_rd_u64(pgh_reader *r)
{
    uint64_t hi = pgh_rd_u32(r);
    uint64_t lo = pgh_rd_u32(r);
    return hi << 32 | lo;
}

/* Signed reads: two's complement reinterpretation of the unsigned ones. */
static inline int16_t pgh_rd_i16(pgh_reader *r)
{
    return (int16_t)pgh_rd_u16(r);
}

static inline int32_t pgh_rd_i32(pgh_reader *r)
{
    return (int32_t)pgh_rd_u32(r);
}

static inline int64_t pgh_rd_i64(pgh_reader *r)
{
    return (int64_t)pgh_rd_u64(r);
}

/* Borrow the next n bytes; NULL (and failed) when fewer remain. n == 0 gives a valid pointer. */
const uint8_t *pgh_rd_bytes(pgh_reader *r, size_t n);

/*
 * Borrow a NUL-terminated string. Returns a pointer into the span (a valid C string, since the
 * NUL is inside it) and moves past the NUL; *len_out (may be NULL) gets its length. No NUL
 * before the end of the span is a failure: returns NULL.
 */
const char *pgh_rd_cstr(pgh_reader *r, size_t *len_out);

#endif
