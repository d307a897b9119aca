/*
 * tests/fuzz/fuzz_copyscan.c - libFuzzer target for the COPY TO STDOUT row scanner.
 *
 * Input: one byte choosing the scan (bit 0: binary, bits 1-5: nkeys - 1), then CopyData
 * messages, each preceded by its length as a big-endian uint16 (a length past the end of the
 * input takes the rest), all fed to one scan. Each message is copied into a buffer of exactly
 * its size, so ASan sees any read past its end.
 *
 * Any bytes must give success or PGH_EPROTO with a message, and a failed call must leave the
 * scan as it was. Violations abort().
 *
 * Seeds (tests/fuzz/corpus/copyscan): the captured COPY output in tests/fixtures/pgoutput, as
 * sent and all in one message, for several key counts, in this framing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(bool cond)
{
    if (!cond)
        abort();
}

static void check_keys(const pgh_copy_scan *s)
{
    for (int i = 0; i < s->nkeys; i++) {
        if (s->key_null[i])
            require(s->key[i].len == 0);
        if (s->key[i].data != NULL)
            require(s->key[i].data[s->key[i].len] == '\0');
        require(!s->key[i].failed);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    pgh_copy_format format = (data[0] & 1) ? PGH_COPY_BINARY : PGH_COPY_TEXT;
    int nkeys = 1 + ((data[0] >> 1) & 31);
    pgh_copy_scan s;
    require(pgh_copy_scan_init(&s, format, nkeys) == 0);
    size_t off = 1;
    while (size - off >= 2) {
        size_t n = (size_t)data[off] << 8 | data[off + 1];
        off += 2;
        if (n > size - off)
            n = size - off;
        uint8_t *msg = malloc(n ? n : 1);
        require(msg != NULL);
        if (n)
            memcpy(msg, data + off, n);
        off += n;

        uint64_t rows = s.rows;
        uint64_t bytes = s.bytes;
        bool header_done = s.header_done;
        bool trailer_seen = s.trailer_seen;
        pgh_error err = {0};
        int rc = pgh_copy_scan_feed(&s, msg, n, &err);
        if (rc == 0) {
            require(err.code == 0 && s.bytes == bytes + n && s.rows >= rows);
            require(s.rows - rows <= n); /* a row takes at least one byte */
            if (format == PGH_COPY_BINARY && n > 0)
                require(s.header_done);
        } else {
            require(rc == PGH_EPROTO && err.code == rc && strncmp(err.message, "copy: ", 6) == 0);
            require(s.rows == rows && s.bytes == bytes && s.header_done == header_done &&
                    s.trailer_seen == trailer_seen);
        }
        check_keys(&s);
        free(msg);
    }
    pgh_copy_scan_dispose(&s);
    return 0;
}
