/*
 * A destination of your own: it counts, per table, the existing rows and the inserts, updates
 * and deletes it receives, and keeps those counts with its position in a file, so that a
 * second run goes on from where the first stopped (pghost/destination.h).
 *
 *   cc count_destination.c $(pkg-config --cflags --libs pghost) -o count_destination
 *   ./count_destination 'host=... dbname=...' my_publication public.orders counts.txt
 *
 * Each run stops at a checkpoint and keeps its slot there; the next run receives what changed
 * since. Drop the slot (pghost_<publication>) when done.
 *
 * The file, replaced whole at every flush (written aside, then renamed):
 *   <lsn> <phase>\n<resume token or ->\n then one "<schema.table> rows inserts updates deletes"
 */
#define _POSIX_C_SOURCE 200809L /* strdup, rename */

#include <pghost/pghost.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TABLES 16

typedef struct counts {
    char name[128];
    unsigned long long rows, inserts, updates, deletes;
} counts;

typedef struct counter {
    const char *path;     /* the position file */
    counts t[MAX_TABLES]; /* what was received, durable up to `flushed` */
    int n;
    pgh_position pending; /* the last commit's position (resume copied) */
} counter;

static counts *table(counter *c, const pgh_relation *rel)
{
    char name[128];
    snprintf(name, sizeof(name), "%s.%s", rel->nspname, rel->relname);
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->t[i].name, name) == 0)
            return &c->t[i];
    if (c->n == MAX_TABLES)
        return NULL;
    snprintf(c->t[c->n].name, sizeof(c->t[c->n].name), "%s", name);
    return &c->t[c->n++];
}

static int on_open(void *user, const pgh_destination_info *info, pgh_error *err)
{
    (void)user, (void)info, (void)err;
    return 0;
}

static int read_position(void *user, pgh_position *out, pgh_error *err)
{
    counter *c = user;
    FILE *f = fopen(c->path, "r");
    if (f == NULL)
        return 0; /* nothing received yet */
    char lsn[32] = "", token[4096] = "";
    if (fscanf(f, "%31s %15s\n", lsn, out->phase) != 2 || !fgets(token, sizeof(token), f) ||
        pgh_lsn_parse(&out->lsn, lsn) != 0) {
        fclose(f);
        return pgh_error_set(err, PGH_ECONFIG, "%s is damaged: remove it to start over", c->path);
    }
    token[strcspn(token, "\n")] = '\0';
    out->resume = strcmp(token, "-") ? strdup(token) : NULL;
    while (c->n < MAX_TABLES && fscanf(f, "%127s %llu %llu %llu %llu\n", c->t[c->n].name,
                                       &c->t[c->n].rows, &c->t[c->n].inserts,
                                       &c->t[c->n].updates, &c->t[c->n].deletes) == 5)
        c->n++;
    fclose(f);
    return 0;
}

static int rows(void *user, const pgh_table_rows *t, const pgh_tuple *r, size_t n,
                pgh_error *err)
{
    (void)r, (void)err;
    counts *k = table(user, t->table);
    if (k)
        k->rows += n;
    return 0;
}

static int change(void *user, const pgh_change *c, pgh_error *err)
{
    (void)err;
    counts *k = table(user, c->kind == PGH_CHANGE_INSERT   ? c->u.insert.rel
                            : c->kind == PGH_CHANGE_UPDATE ? c->u.update.rel
                                                           : c->u.del.rel);
    if (k)
        *(c->kind == PGH_CHANGE_INSERT   ? &k->inserts
          : c->kind == PGH_CHANGE_UPDATE ? &k->updates
                                         : &k->deletes) += 1;
    return 0;
}

static int commit(void *user, const pgh_change *c, const pgh_position *after, pgh_error *err)
{
    (void)c, (void)err;
    counter *k = user;
    free(k->pending.resume);
    k->pending = *after;
    k->pending.resume = after->resume ? strdup(after->resume) : NULL;
    return 0;
}

/* Counts and position together: written aside, then renamed over the file. */
static int flush(void *user, pgh_lsn *durable, pgh_error *err)
{
    counter *c = user;
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", c->path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return pgh_error_set(err, PGH_ESINK, "cannot write %s", tmp);
    fprintf(f, PGH_LSN_FMT " %s\n%s\n", PGH_LSN_ARGS(c->pending.lsn),
            c->pending.phase[0] ? c->pending.phase : "-",
            c->pending.resume ? c->pending.resume : "-");
    for (int i = 0; i < c->n; i++)
        fprintf(f, "%s %llu %llu %llu %llu\n", c->t[i].name, c->t[i].rows, c->t[i].inserts,
                c->t[i].updates, c->t[i].deletes);
    if (fclose(f) != 0 || rename(tmp, c->path) != 0)
        return pgh_error_set(err, PGH_ESINK, "cannot replace %s", c->path);
    *durable = c->pending.lsn;
    return 0;
}

static const pgh_destination_ops COUNT_OPS = {
    .version = PGH_DESTINATION_OPS_VERSION, .name = "count", .open = on_open,
    .read_position = read_position, .table_rows = rows, .change = change, .commit = commit,
    .flush = flush};

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s CONNINFO PUBLICATION SCHEMA.TABLE FILE\n", argv[0]);
        return 2;
    }
    counter c = {.path = argv[4]};
    pgh_error err = {0};
    pgh_config *cfg = NULL;
    pgh_source *src = NULL;
    pgh_destination *dst = NULL;
    pgh_pipeline_result result = {0};
    pgh_pipeline_opts po = PGH_PIPELINE_OPTS_INIT;
    po.keep_slot = true;
    int rc = pgh_config_new(&cfg, &err);
    if (rc == 0)
        rc = pgh_config_set_string(&cfg->source_connection, argv[1], &err);
    if (rc == 0)
        rc = pgh_config_set_string(&cfg->publication_name, argv[2], &err);
    if (rc == 0)
        rc = pgh_config_add_table(cfg, NULL, argv[3], NULL, NULL, &err); /* "schema.table" */
    if (rc == 0)
        rc = pgh_config_check(cfg, &err);
    if (rc == 0)
        rc = pgh_source_open(&src, cfg, &err);
    if (rc == 0)
        rc = pgh_destination_new(&dst, &COUNT_OPS, &c, &err);
    if (rc == 0)
        rc = pgh_pipeline_run(&result, src, NULL, dst, &po, &err);
    if (rc != 0)
        fprintf(stderr, "count_destination: %s\n", err.message);
    for (int i = 0; rc == 0 && i < c.n; i++)
        printf("%s: %llu rows, %llu inserts, %llu updates, %llu deletes\n", c.t[i].name,
               c.t[i].rows, c.t[i].inserts, c.t[i].updates, c.t[i].deletes);
    free(c.pending.resume);
    pgh_pipeline_result_dispose(&result);
    pgh_destination_free(dst);
    pgh_source_close(src);
    pgh_config_free(cfg);
    return rc == 0 ? 0 : 1;
}
