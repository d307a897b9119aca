/*
 * config/names.c - PostgreSQL's rules for replication slot names.
 *
 * A slot name may contain only lower-case letters, digits and underscores, and is at most
 * NAMEDATALEN - 1 = 63 bytes (ReplicationSlotValidateName in PostgreSQL's slot.c). The default
 * is derived from the publication name so that two pghost runs on different publications do
 * not fight over one slot.
 */
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

#define SLOT_PREFIX "pghost_"

static bool slot_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool pgh_config__slot_name_valid(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > PGH_CONFIG__NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!slot_char(s[i]))
            return false;
    }
    return true;
}

char *pgh_config__default_slot_name(const char *publication)
{
    size_t prefix = strlen(SLOT_PREFIX);
    size_t len = prefix + strlen(publication);
    if (len > PGH_CONFIG__NAME_MAX)
        len = PGH_CONFIG__NAME_MAX;
    char *out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, SLOT_PREFIX, prefix);
    for (size_t i = prefix; i < len; i++) {
        char c = publication[i - prefix];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        out[i] = slot_char(c) ? c : '_';
    }
    out[len] = '\0';
    return out;
}
