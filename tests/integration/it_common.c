/* Shared pieces of the sync integration tests: see it_common.h. */
#include "it_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *pair_env(const char *name, void *payload)
{
    const pgh_run_pair *p = payload;
    if (strcmp(name, "SRC") == 0)
        return p->src_conninfo;
    if (strcmp(name, "DST") == 0)
        return p->dst_conninfo;
    return NULL;
}

pgh_config *it_config(const pgh_run_pair *p, const char *yaml)
{
    pgh_config *cfg = NULL;
    pgh_error err;
    pgh_error_clear(&err);
    int rc = pgh_config_parse(&cfg, yaml, strlen(yaml), "test.yaml", pair_env, (void *)p, &err);
    PGH_CHECK(rc == 0, "config: %s", err.message);
    return cfg;
}

long long it_compare_table(const pgh_run_pair *p, const char *src_table, const char *dst_table,
                           const char *order_by)
{
    char qa[512];
    char qb[512];
    snprintf(qa, sizeof(qa), "SELECT * FROM %s ORDER BY %s", src_table, order_by);
    snprintf(qb, sizeof(qb), "SELECT * FROM %s ORDER BY %s", dst_table, order_by);
    return pgh_run_compare(p, qa, qb, NULL);
}

void it_check_no_slots(const pgh_run_pair *p)
{
    char *n = pgh_test_value(p->s, "SELECT count(*) FROM pg_replication_slots");
    PGH_CHECK(strcmp(n, "0") == 0, "%s replication slots left on the source", n);
    free(n);
}
int it_sync(pgh_pipeline_result *out, const it_sync_opts *o, pgh_error *err)
{
    pgh_source *src = NULL;
    pgh_destination *dst = NULL;
    memset(out, 0, sizeof(*out));
    int rc = pgh_source_open(&src, o->config, err);
    if (rc == 0)
        rc = pgh_postgres_destination_new(&dst, err);
    pgh_pipeline_opts po = PGH_PIPELINE_OPTS_INIT;
    po.before_checkpoint = o->before_checkpoint;
    po.before_checkpoint_payload = o->before_checkpoint_payload;
    if (rc == 0)
        rc = pgh_pipeline_run(out, src, NULL, dst, &po, err);
    pgh_destination_free(dst);
    pgh_source_close(src);
    return rc;
}
