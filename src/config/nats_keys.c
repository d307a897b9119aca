/*
 * config/nats_keys.c - the nats_* keys: where pghost capture publishes and pghost apply reads
 * (docs/nats.md). One reader each; the defaults that depend on the slot (stream, prefix,
 * subjects) are applied by the NATS code, which sees the whole configuration.
 */
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

void pgh_config__nats_defaults(pgh_nats_config *n)
{
    n->replicas = 1;
    n->max_age_s = 0;
    n->max_bytes = 0;
    n->duplicate_window_s = 120;
    n->max_in_flight = 4096;
}

/* The string fields, in one list for dispose and dup. */
static char **string_field(pgh_nats_config *n, int i)
{
    char **fields[] = {&n->url,     &n->stream,           &n->subject_prefix, &n->subjects,
                       &n->consumer, &n->credentials_file, &n->token_file,
                       &n->ca_file,  &n->nkey_file};
    return i < (int)(sizeof(fields) / sizeof(fields[0])) ? fields[i] : NULL;
}

void pgh_config__nats_dispose(pgh_nats_config *n)
{
    for (int i = 0; string_field(n, i) != NULL; i++) {
        free(*string_field(n, i));
        *string_field(n, i) = NULL;
    }
}

int pgh_config__nats_dup(pgh_nats_config *dst, const pgh_nats_config *src)
{
    *dst = *src;
    int rc = 0;
    for (int i = 0; string_field(dst, i) != NULL; i++) {
        char **f = string_field(dst, i);
        if (*f == NULL)
            continue;
        *f = strdup(*f);
        if (*f == NULL)
            rc = PGH_ENOMEM;
    }
    return rc;
}

/* A subject token or prefix: no spaces, no wildcards (they would publish nowhere useful). */
static int read_subject(pgh_config__ctx *ctx, const char *path, yaml_node_t *value, char **out,
                        bool wildcards)
{
    char *s = NULL;
    int rc = pgh_config__read_string(ctx, path, value, &s, NULL);
    if (rc != 0)
        return rc;
    bool bad = s[0] == '\0' || s[0] == '.' || s[strlen(s) - 1] == '.' || strstr(s, "..") ||
               strpbrk(s, " \t\r\n") || (!wildcards && strpbrk(s, "*>"));
    if (bad) {
        free(s);
        return pgh_config__fail(ctx, pgh_config__line(value),
                                "%s: not a NATS subject%s (dot-separated tokens, no spaces)", path,
                                wildcards ? "" : " prefix without wildcards");
    }
    free(*out);
    *out = s;
    return 0;
}

/* A stream or consumer name: JetStream refuses ".", "*", ">", spaces and path separators. */
static int read_js_name(pgh_config__ctx *ctx, const char *path, yaml_node_t *value, char **out)
{
    char *s = NULL;
    int rc = pgh_config__read_string(ctx, path, value, &s, NULL);
    if (rc != 0)
        return rc;
    if (s[0] == '\0' || strpbrk(s, ".*> \t\r\n/\\")) {
        free(s);
        return pgh_config__fail(ctx, pgh_config__line(value),
                                "%s: a JetStream name holds no '.', '*', '>', '/', '\\' or spaces",
                                path);
    }
    free(*out);
    *out = s;
    return 0;
}

static int read_file_name(pgh_config__ctx *ctx, const char *path, yaml_node_t *value, char **out)
{
    char *s = NULL;
    int rc = pgh_config__read_string(ctx, path, value, &s, NULL);
    if (rc == 0) {
        free(*out);
        *out = s;
    }
    return rc;
}

int pgh_config__read_nats_key(pgh_config__ctx *ctx, int key, const char *path, yaml_node_t *value)
{
    pgh_nats_config *n = &ctx->cfg->nats;
    switch (key) {
    case PGH_CONFIG__NATS_URL:
        return read_file_name(ctx, path, value, &n->url);
    case PGH_CONFIG__NATS_STREAM:
        return read_js_name(ctx, path, value, &n->stream);
    case PGH_CONFIG__NATS_PREFIX:
        return read_subject(ctx, path, value, &n->subject_prefix, false);
    case PGH_CONFIG__NATS_SUBJECTS:
        return read_subject(ctx, path, value, &n->subjects, true);
    case PGH_CONFIG__NATS_CONSUMER:
        return read_js_name(ctx, path, value, &n->consumer);
    case PGH_CONFIG__NATS_REPLICAS:
        return pgh_config__read_int(ctx, path, value, 1, 5, &n->replicas);
    case PGH_CONFIG__NATS_MAX_AGE:
        return pgh_config__read_int(ctx, path, value, 0, INT64_MAX / 1000000000, &n->max_age_s);
    case PGH_CONFIG__NATS_MAX_BYTES:
        return pgh_config__read_int(ctx, path, value, 0, INT64_MAX, &n->max_bytes);
    case PGH_CONFIG__NATS_DUP_WINDOW:
        return pgh_config__read_int(ctx, path, value, 1, 86400, &n->duplicate_window_s);
    case PGH_CONFIG__NATS_IN_FLIGHT:
        return pgh_config__read_int(ctx, path, value, 1, 1000000, &n->max_in_flight);
    case PGH_CONFIG__NATS_CREDS:
        return read_file_name(ctx, path, value, &n->credentials_file);
    case PGH_CONFIG__NATS_TOKEN:
        return read_file_name(ctx, path, value, &n->token_file);
    case PGH_CONFIG__NATS_NKEY:
        return read_file_name(ctx, path, value, &n->nkey_file);
    default:
        return read_file_name(ctx, path, value, &n->ca_file);
    }
}
