/*
 * A complete pipeline: the existing rows of a table and its changes as JSON lines on stdout,
 * with the configuration built in code.
 *
 *   cc stdout_pipeline.c $(pkg-config --cflags --libs pghost) -o stdout_pipeline
 *   ./stdout_pipeline 'host=... dbname=...' my_publication public.orders [--follow]
 *
 * Without --follow it stops at a checkpoint after the existing rows (and drops its slot);
 * with it, it goes on until Ctrl-C, keeping its position in stdout_pipeline.state.
 */
#include <pghost/pghost.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static pgh_cancel_flag stop;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop, 1);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s CONNINFO PUBLICATION SCHEMA.TABLE [--follow]\n", argv[0]);
        return 2;
    }
    bool follow = argc > 4 && strcmp(argv[4], "--follow") == 0;
    pgh_error err = {0};
    pgh_config *cfg = NULL;
    pgh_source *src = NULL;
    pgh_destination *dst = NULL;
    pgh_pipeline_result result = {0};
    pgh_json_opts jo = PGH_JSON_OPTS_INIT;
    jo.out = stdout;
    jo.state_file = follow ? "stdout_pipeline.state" : NULL;
    pgh_pipeline_opts po = PGH_PIPELINE_OPTS_INIT;
    po.until = follow ? PGH_UNTIL_STOPPED : PGH_UNTIL_CHECKPOINT;
    po.cancel = &stop;
    signal(SIGINT, on_signal);
    int rc = pgh_config_new(&cfg, &err);
    if (rc == 0)
        rc = pgh_config_set_string(&cfg->source_connection, argv[1], &err);
    if (rc == 0)
        rc = pgh_config_set_string(&cfg->publication_name, argv[2], &err);
    if (rc == 0)
        rc = pgh_config_add_table(cfg, NULL, argv[3], NULL, NULL, &err); /* schema.table */
    if (rc == 0)
        rc = pgh_config_check(cfg, &err);
    if (rc == 0)
        rc = pgh_source_open(&src, cfg, &err);
    if (rc == 0)
        rc = pgh_json_destination_new(&dst, &jo, &err);
    if (rc == 0)
        rc = pgh_pipeline_run(&result, src, NULL, dst, &po, &err);
    if (rc != 0)
        fprintf(stderr, "stdout_pipeline: %s\n", err.message);
    else
        fprintf(stderr, "stdout_pipeline: %llu existing rows, checkpoint " PGH_LSN_FMT "\n",
                (unsigned long long)(result.ntables ? result.tables[0].rows_copied : 0),
                PGH_LSN_ARGS(result.checkpoint_lsn));
    pgh_pipeline_result_dispose(&result);
    pgh_destination_free(dst);
    pgh_source_close(src);
    pgh_config_free(cfg);
    return rc == 0 ? 0 : 1;
}
