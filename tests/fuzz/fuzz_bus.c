/*
 * tests/fuzz/fuzz_bus.c - libFuzzer target for the NATS bus decoder (src/dest/nats/bus.h).
 *
 * Any bytes must give either a message, which encodes again to a text that decodes to a
 * message encoding to that same text (the encoding is canonical), or PGH_EPROTO with a
 * message: never a crash, a leak or another code. Violations abort().
 *
 * Seeds (tests/fuzz/corpus/bus): one message of each kind, as pghost capture publishes them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dest/nats/bus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pgh_bus_msg m, again;
    pgh_error err;
    pgh_error_clear(&err);
    int rc = pgh_bus__decode(&m, (const char *)data, size, &err);
    if (rc != 0) {
        if (rc != PGH_EPROTO || err.message[0] == '\0')
            abort();
        pgh_bus__msg_dispose(&m);
        return 0;
    }
    char *text = pgh_bus__encode_msg(&m);
    if (text == NULL)
        abort();
    if (pgh_bus__decode(&again, text, strlen(text), &err) != 0)
        abort();
    char *text2 = pgh_bus__encode_msg(&again);
    if (text2 == NULL || strcmp(text, text2) != 0)
        abort();
    free(text2);
    free(text);
    pgh_bus__msg_dispose(&again);
    pgh_bus__msg_dispose(&m);
    return 0;
}
