/*
 * tests/fuzz/fuzz_config.c - libFuzzer target for pgh_config_parse.
 *
 * Any bytes must give either a valid config or one PGH_ECONFIG line: never a crash, a leak, a
 * multi-line message or a half-filled result. The invariants below abort() so that the fuzzer
 * (and the corpus run in ctest) reports a violation as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pghost/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A small fixed environment so that ${HOST} and friends reach the expansion code. */
static const char *fuzz_env(const char *name, void *payload)
{
    (void)payload;
    if (strcmp(name, "HOST") == 0)
        return "localhost";
    if (strcmp(name, "EMPTY") == 0)
        return "";
    if (strcmp(name, "DOLLAR") == 0)
        return "${HOST}$$";
    return NULL;
}

static void check_ok(const pgh_config *cfg)
{
    if (cfg == NULL || cfg->path == NULL || cfg->source_connection == NULL ||
        cfg->destination_connection == NULL || cfg->publication_name == NULL ||
        cfg->slot_name == NULL || cfg->ntables == 0 || cfg->tables == NULL)
        abort();
    size_t slot_len = strlen(cfg->slot_name);
    if (slot_len == 0 || slot_len > 63 ||
        strspn(cfg->slot_name, "abcdefghijklmnopqrstuvwxyz0123456789_") != slot_len)
        abort();
    if (cfg->copy_worker_count < 1 || cfg->copy_worker_count > PGH_CONFIG_MAX_WORKERS ||
        cfg->copy_batch_size < 1 || cfg->copy_batch_size > 1000000000)
        abort();
    for (size_t i = 0; i < cfg->ntables; i++) {
        const pgh_table_map *t = &cfg->tables[i];
        if (t->source_schema == NULL || t->source_table == NULL || t->dest_schema == NULL ||
            t->dest_table == NULL || t->source_table[0] == '\0')
            abort();
    }
}

static void check_failed(int rc, const pgh_config *cfg, const pgh_error *err)
{
    if (cfg != NULL || (rc != PGH_ECONFIG && rc != PGH_ENOMEM) || err->code != rc)
        abort();
    if (err->message[0] == '\0' || strchr(err->message, '\n') != NULL ||
        strchr(err->message, '\r') != NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pgh_config *cfg = NULL;
    pgh_error err;
    pgh_error_clear(&err);
    int rc = pgh_config_parse(&cfg, (const char *)data, size, "fuzz.yaml", fuzz_env, NULL, &err);
    if (rc == 0)
        check_ok(cfg);
    else
        check_failed(rc, cfg, &err);
    pgh_config_free(cfg);
    return 0;
}
