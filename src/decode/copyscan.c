/*
 * decode/copyscan.c - the rows of COPY ... TO STDOUT, counted, with the last row's key kept.
 *
 * Binary format:
 *   header   "PGCOPY\n\377\r\n\0", int32 flags, int32 ext_len, ext_len bytes
 *   row      int16 nfields (>= 0), nfields x (int32 len, len bytes | int32 -1 for NULL)
 *   trailer  int16 -1
 * Text format:
 *   row      fields separated by '\t', ended by '\n'; a field that is exactly \N is NULL;
 *            a backslash escapes the next byte (\b \f \n \r \t \v, \ooo octal, \xhh hex,
 *            anything else stands for itself), so an escaped tab or newline is data.
 *
 * PostgreSQL sends the binary header with the first row, then one row per CopyData message, and
 * the trailer alone (header and trailer together when there are no rows); text rows come one per
 * message. Any number of whole rows per message is accepted; a row (or the header) split across
 * messages is not.
 *
 * A message is scanned completely before the scan state changes, so on error the state is what
 * it was before the call. While scanning, a row's key fields are only recorded as spans of the
 * message; the keys of the message's last row are copied (and unescaped) once at the end.
 */
#include <inttypes.h>
#include <string.h>

#include "decode/reader.h"
#include "decode/decode.h"

static const uint8_t copy_signature[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0377, '\r', '\n', 0};

#define COPY_FLAG_OIDS (UINT32_C(1) << 16)
#define COPY_FLAGS_CRITICAL UINT32_C(0xffff) /* bits a reader must understand */

/* A key field of the row being scanned: a span of the message. */
typedef struct keyspan {
    const uint8_t *data; /* borrowed: the raw field (text: still escaped) */
    size_t len;
    bool null;
} keyspan;

/* One feed call: what it found so far, committed to the pgh_copy_scan only on success. */
typedef struct scan {
    const pgh_copy_scan *s;
    size_t len;                      /* bytes in the message */
    uint64_t rows;                   /* complete rows in this message */
    keyspan keys[PGH_COPY_MAX_KEYS]; /* of the last complete row */
    bool header_done;
    bool trailer_seen;
    pgh_error *err; /* may be NULL */
} scan;

/* The row being scanned, counting from 1 over the whole COPY. */
static uint64_t row_no(const scan *sc)
{
    return sc->s->rows + sc->rows + 1;
}

/* ---- binary ---- */

static int read_header(scan *sc, pgh_reader *r)
{
    const uint8_t *sig = pgh_rd_bytes(r, sizeof(copy_signature));
    uint32_t flags = pgh_rd_u32(r);
    int32_t ext_len = pgh_rd_i32(r);
    if (pgh_rd_failed(r))
        return pgh_error_set(sc->err, PGH_EPROTO,
                             "copy: truncated binary COPY header (CopyData message of length "
                             "%zu)",
                             sc->len);
    if (memcmp(sig, copy_signature, sizeof(copy_signature)) != 0)
        return pgh_error_set(sc->err, PGH_EPROTO,
                             "copy: the binary COPY data does not start with the PGCOPY "
                             "signature");
    if ((flags & COPY_FLAGS_CRITICAL) != 0 || (flags & COPY_FLAG_OIDS) != 0)
        return pgh_error_set(sc->err, PGH_EPROTO,
                             "copy: unsupported binary COPY header flags 0x%08x", flags);
    if (ext_len < 0 || pgh_rd_bytes(r, (size_t)ext_len) == NULL)
        return pgh_error_set(sc->err, PGH_EPROTO,
                             "copy: binary COPY header extension length %d does not fit its "
                             "CopyData message (length %zu)",
                             ext_len, sc->len);
    sc->header_done = true;
    return 0;
}

/* Read the fields of one row whose count was just read. */
static int read_binary_fields(scan *sc, pgh_reader *r, int16_t nfields, size_t at)
{
    int nkeys = sc->s->nkeys;
    if (nfields < nkeys)
        return pgh_error_set(sc->err, PGH_EPROTO,
                             "copy: row %" PRIu64 " has %d fields at byte %zu, fewer than the "
                             "%d key columns",
                             row_no(sc), nfields, at, nkeys);
    for (int f = 0; f < nfields; f++) {
        size_t fat = r->pos;
        int32_t flen = pgh_rd_i32(r);
        const uint8_t *data = NULL;
        if (flen < -1)
            return pgh_error_set(sc->err, PGH_EPROTO,
                                 "copy: row %" PRIu64 " field %d has length %d at byte %zu",
                                 row_no(sc), f + 1, flen, fat);
        if (flen >= 0)
            data = pgh_rd_bytes(r, (size_t)flen);
        if (pgh_rd_failed(r))
            return pgh_error_set(sc->err, PGH_EPROTO,
                                 "copy: row %" PRIu64 " is cut off in field %d at byte %zu of "
                                 "its CopyData message (length %zu)",
                                 row_no(sc), f + 1, fat, sc->len);
        if (f < nkeys)
            sc->keys[f] = (keyspan){.data = data, .len = data ? (size_t)flen : 0, .null = !data};
    }
    return 0;
}

static int scan_binary(scan *sc, const uint8_t *buf, size_t len)
{
    pgh_reader r;
    pgh_rd_init(&r, buf, len);
    if (!sc->header_done && len > 0) {
        int rc = read_header(sc, &r);
        if (rc != 0)
            return rc;
    }
    while (pgh_rd_remaining(&r) > 0) {
        size_t at = r.pos;
        if (sc->trailer_seen)
            return pgh_error_set(sc->err, PGH_EPROTO,
                                 "copy: %zu bytes after the binary COPY trailer at byte %zu",
                                 pgh_rd_remaining(&r), at);
        int16_t nfields = pgh_rd_i16(&r);
        if (pgh_rd_failed(&r))
            return pgh_error_set(sc->err, PGH_EPROTO,
                                 "copy: row %" PRIu64 " is cut off at byte %zu of its CopyData "
                                 "message (length %zu)",
                                 row_no(sc), at, len);
        if (nfields == -1) {
            sc->trailer_seen = true;
            continue;
        }
        if (nfields < 0)
            return pgh_error_set(sc->err, PGH_EPROTO,
                                 "copy: row %" PRIu64 " has negative field count %d at byte %zu",
                                 row_no(sc), nfields, at);
        int rc = read_binary_fields(sc, &r, nfields, at);
        if (rc != 0)
            return rc;
        sc->rows++;
    }
    return 0;
}

/* ---- text ---- */

static int cut_off(scan *sc, size_t at)
{
    return pgh_error_set(sc->err, PGH_EPROTO,
                         "copy: row %" PRIu64 " is cut off at byte %zu of its CopyData message "
                         "(length %zu): no newline",
                         row_no(sc), at, sc->len);
}

/*
 * Find the '\n' ending a row, searching from p, where no escape is pending. A newline preceded by
 * an odd run of backslashes is escaped data; memchr keeps wide rows fast.
 */
static const uint8_t *row_end(const uint8_t *p, const uint8_t *end)
{
    const uint8_t *from = p;
    while (from < end) {
        const uint8_t *nl = memchr(from, '\n', (size_t)(end - from));
        if (nl == NULL)
            return NULL;
        size_t run = 0;
        while (nl - run > p && nl[-(ptrdiff_t)run - 1] == '\\')
            run++;
        if (run % 2 == 0)
            return nl;
        from = nl + 1;
    }
    return NULL;
}

/* Scan one text row starting at *pp; on success *pp is past its newline. */
static int scan_text_row(scan *sc, const uint8_t **pp, const uint8_t *buf, const uint8_t *end)
{
    int nkeys = sc->s->nkeys;
    const uint8_t *p = *pp;
    const uint8_t *field = p;
    int nfields = 0;
    bool ended = false; /* the row's newline was consumed */
    /* Split the key fields byte by byte; the rest of the row only needs its end. */
    while (nfields < nkeys && !ended) {
        if (p == end || (*p == '\\' && p + 1 == end))
            return cut_off(sc, (size_t)(p - buf));
        if (*p == '\\') {
            p += 2;
            continue;
        }
        if (*p != '\t' && *p != '\n') {
            p++;
            continue;
        }
        size_t flen = (size_t)(p - field);
        bool null = flen == 2 && field[0] == '\\' && field[1] == 'N';
        sc->keys[nfields++] = (keyspan){.data = field, .len = flen, .null = null};
        ended = *p++ == '\n';
        field = p;
    }
    if (nfields < nkeys)
        return pgh_error_set(sc->err, PGH_EPROTO,
                             "copy: row %" PRIu64 " has %d fields, fewer than the %d key "
                             "columns",
                             row_no(sc), nfields, nkeys);
    if (!ended) {
        /* Skip the fields after the keys. */
        const uint8_t *nl = row_end(p, end);
        if (nl == NULL)
            return cut_off(sc, (size_t)(end - buf));
        p = nl + 1;
    }
    *pp = p;
    return 0;
}

static int scan_text(scan *sc, const uint8_t *buf, size_t len)
{
    if (len == 0)
        return 0;
    const uint8_t *p = buf;
    const uint8_t *end = buf + len;
    while (p < end) {
        int rc = scan_text_row(sc, &p, buf, end);
        if (rc != 0)
            return rc;
        sc->rows++;
    }
    return 0;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_octal(uint8_t c)
{
    return c >= '0' && c <= '7';
}

/* Decode one escape whose backslash is just before *pp; returns the byte it stands for. */
static uint8_t unescape_one(const uint8_t **pp, const uint8_t *end)
{
    const uint8_t *p = *pp;
    uint8_t c = *p++;
    switch (c) {
    case 'b':
        c = '\b';
        break;
    case 'f':
        c = '\f';
        break;
    case 'n':
        c = '\n';
        break;
    case 'r':
        c = '\r';
        break;
    case 't':
        c = '\t';
        break;
    case 'v':
        c = '\v';
        break;
    case 'x':
        if (p < end && hexval(*p) >= 0) {
            int v = hexval(*p++);
            if (p < end && hexval(*p) >= 0)
                v = v * 16 + hexval(*p++);
            c = (uint8_t)v;
        }
        break;
    default:
        if (is_octal(c)) {
            int v = c - '0';
            for (int i = 0; i < 2 && p < end && is_octal(*p); i++)
                v = v * 8 + (*p++ - '0');
            c = (uint8_t)(v & 0377);
        }
        break;
    }
    *pp = p;
    return c;
}

/* Unescape a text field into b (reset first). */
static void unescape_into(pgh_buf *b, const uint8_t *p, size_t n)
{
    const uint8_t *end = p + n;
    pgh_buf_reset(b);
    while (p < end) {
        const uint8_t *bs = memchr(p, '\\', (size_t)(end - p));
        if (bs == NULL) {
            pgh_buf_append(b, p, (size_t)(end - p));
            return;
        }
        pgh_buf_append(b, p, (size_t)(bs - p));
        p = bs + 1;
        if (p == end) {
            /* Cannot happen for a field split by scan_text_row; keep the byte rather than
             * guess. */
            pgh_buf_putc(b, '\\');
            return;
        }
        pgh_buf_putc(b, (char)unescape_one(&p, end));
    }
}

/* ---- public API ---- */

int pgh_copy_scan_init(pgh_copy_scan *s, pgh_copy_format format, int nkeys)
{
    memset(s, 0, sizeof(*s));
    if (nkeys < 1 || nkeys > PGH_COPY_MAX_KEYS ||
        (format != PGH_COPY_TEXT && format != PGH_COPY_BINARY))
        return PGH_ECONFIG;
    s->format = format;
    s->nkeys = nkeys;
    for (int i = 0; i < PGH_COPY_MAX_KEYS; i++)
        pgh_buf_init(&s->key[i], 0);
    return 0;
}

void pgh_copy_scan_dispose(pgh_copy_scan *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < PGH_COPY_MAX_KEYS; i++)
        pgh_buf_dispose(&s->key[i]);
}

/* Copy the last row's keys out of the message. */
static int keep_keys(pgh_copy_scan *s, const scan *sc, pgh_error *err)
{
    for (int i = 0; i < s->nkeys; i++) {
        const keyspan *k = &sc->keys[i];
        s->key_null[i] = k->null;
        pgh_buf_reset(&s->key[i]);
        if (k->null)
            continue;
        if (s->format == PGH_COPY_TEXT)
            unescape_into(&s->key[i], k->data, k->len);
        else
            pgh_buf_append(&s->key[i], k->data, k->len);
        if (pgh_buf_failed(&s->key[i]))
            return pgh_error_set(err, PGH_ENOMEM, "copy: out of memory keeping key column %d",
                                 i + 1);
    }
    return 0;
}

int pgh_copy_scan_feed(pgh_copy_scan *s, const uint8_t *buf, size_t len, pgh_error *err)
{
    scan sc = {.s = s,
               .len = len,
               .header_done = s->header_done,
               .trailer_seen = s->trailer_seen,
               .err = err};
    int rc = s->format == PGH_COPY_BINARY ? scan_binary(&sc, buf, len) : scan_text(&sc, buf, len);
    if (rc != 0)
        return rc;
    s->header_done = sc.header_done;
    s->trailer_seen = sc.trailer_seen;
    s->rows += sc.rows;
    s->bytes += len;
    return sc.rows > 0 ? keep_keys(s, &sc, err) : 0;
}
