/*
 * The PostgreSQL writer's options through the real binary (issue 13, item 3):
 *   conflict   on_conflict_action update, then nothing, into a destination table that already
 *              holds rows: some at keys the source has (with other values), some at keys it
 *              lacks. Full ordered dumps against what docs/destinations.md promises: update:
 *              every source row as the source has it; nothing: the rows that were there keep
 *              their values; both: the destination's other rows stay. First, batch_size and
 *              its older name both set through PGH_CFG_ variables: refused (exit 2).
 *   triggers   a destination trigger that records every row written: with disable_triggers
 *              true (the default) it never fires; with false it fires once per copied row (its
 *              record equals the source's keys); a role that may not set
 *              session_replication_role is refused with one line and nothing written, and
 *              the same role with disable_triggers: false syncs.
 *
 * Usage: it_writer conflict|triggers
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgh_run.h"

#define ROWS 3000

typedef struct ctx {
    pgh_run_pair p;
    pgh_run r;
} ctx;

static void setup(ctx *c)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    const char *ddl = "CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, note text)";
    pgh_test_exec(c->p.s, "%s", ddl);
    pgh_test_exec(c->p.d, "%s", ddl);
    pgh_test_exec(c->p.s,
                  "INSERT INTO t SELECT g, g, md5(g::text) FROM generate_series(1, %d) g;"
                  "CREATE PUBLICATION pub FOR TABLE t",
                  ROWS);
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", NULL);
}

/* Run pghost replicate (no --follow) with these extra keys; its exit code. */
static int replicate(ctx *c, const char *extra, const char *user)
{
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination_connection: %s%s%s\n"
                         "publication_name: pub\nsource_table_name: t\ncopy_batch_size: 700\n%s",
                         c->p.src_conninfo, c->p.dst_conninfo, user ? " user=" : "",
                         user ? user : "", extra);
    return pgh_run_exec(&c->r, 120, "replicate", "--no-progress", NULL);
}

/* Rows already on the destination: keys 1..500 with other values, 100001..100010 unknown to
 * the source. */
static void prefill(ctx *c)
{
    pgh_test_exec(c->p.d, "TRUNCATE t; INSERT INTO t SELECT g, -1, 'pre' FROM "
                          "generate_series(1, 500) g UNION ALL SELECT g, -2, 'extra' FROM "
                          "generate_series(100001, 100010) g");
}

static void extra_rows_kept(ctx *c)
{
    pgh_run_compare(&c->p,
                    "SELECT g::bigint, -2, 'extra'::text FROM generate_series(100001, 100010) g",
                    "SELECT * FROM t WHERE id > 100000 ORDER BY id", NULL);
}

/* batch_size and its older name, both set through the environment: refused, naming both. */
static void both_batch_names(ctx *c)
{
    setenv("PGH_CFG_BATCH_SIZE", "100", 1);
    setenv("PGH_CFG_APPLY_GROUP_MAX_CHANGES", "200", 1);
    int code = replicate(c, "", NULL);
    unsetenv("PGH_CFG_BATCH_SIZE");
    unsetenv("PGH_CFG_APPLY_GROUP_MAX_CHANGES");
    PGH_CHECK(code == 2 && strstr(pgh_run_stderr(&c->r, 0),
                                  "environment variables PGH_CFG_BATCH_SIZE and "
                                  "PGH_CFG_APPLY_GROUP_MAX_CHANGES are two names of one setting"),
              "both batch names: exit %d: %s", code, pgh_run_stderr(&c->r, 0));
}

static void case_conflict(ctx *c)
{
    both_batch_names(c);
    prefill(c);
    int code = replicate(c, "on_conflict_action: error\n", NULL);
    PGH_CHECK(code == 3 && strstr(pgh_run_stderr(&c->r, 0), "destination table public.t is not "
                                                            "empty"),
              "error: exit %d: %s", code, pgh_run_stderr(&c->r, 0));
    code = replicate(c, "on_conflict_action: update\n", NULL);
    PGH_CHECK(code == 0, "update: exit %d: %s", code, pgh_run_stderr(&c->r, 0));
    pgh_run_compare(&c->p, "SELECT * FROM t ORDER BY id",
                    "SELECT * FROM t WHERE id <= 100000 ORDER BY id", pgh_run_stderr(&c->r, 0));
    extra_rows_kept(c);
    prefill(c);
    code = replicate(c, "on_conflict_action: nothing\n", NULL);
    PGH_CHECK(code == 0, "nothing: exit %d: %s", code, pgh_run_stderr(&c->r, 0));
    pgh_run_compare(&c->p,
                    "SELECT id, CASE WHEN id <= 500 THEN -1 ELSE v END, CASE WHEN id <= 500 THEN "
                    "'pre' ELSE note END FROM t ORDER BY id",
                    "SELECT * FROM t WHERE id <= 100000 ORDER BY id", pgh_run_stderr(&c->r, 0));
    extra_rows_kept(c);
}

/* What the trigger recorded, cleared for the next run. */
static void reset_dest(ctx *c)
{
    pgh_test_exec(c->p.d, "TRUNCATE t, seen");
}

static void case_triggers(ctx *c)
{
    pgh_test_exec(c->p.d, "CREATE TABLE seen (id bigint);"
                          "CREATE FUNCTION note_row() RETURNS trigger LANGUAGE plpgsql AS "
                          "$$BEGIN INSERT INTO seen VALUES (NEW.id); RETURN NEW; END$$;"
                          "CREATE TRIGGER note_row AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION "
                          "note_row()");
    int code = replicate(c, "", NULL); /* disable_triggers: true, the default */
    PGH_CHECK(code == 0, "default: exit %d: %s", code, pgh_run_stderr(&c->r, 0));
    pgh_run_compare(&c->p, "SELECT * FROM t ORDER BY id", NULL, NULL);
    pgh_run_compare(&c->p, "SELECT 1 WHERE false", "SELECT * FROM seen", NULL);
    reset_dest(c);
    code = replicate(c, "disable_triggers: false\n", NULL);
    PGH_CHECK(code == 0, "false: exit %d: %s", code, pgh_run_stderr(&c->r, 0));
    pgh_run_compare(&c->p, "SELECT * FROM t ORDER BY id", NULL, NULL);
    pgh_run_compare(&c->p, "SELECT id FROM t ORDER BY id", "SELECT id FROM seen ORDER BY id", NULL);
    reset_dest(c);
    pgh_test_exec(c->p.d, "CREATE ROLE plain LOGIN; GRANT CREATE ON DATABASE postgres TO plain;"
                          "GRANT ALL ON t, seen TO plain");
    code = pgh_run_exec(&c->r, 60, "check", NULL); /* the config replicate() wrote before */
    PGH_CHECK(code == 0, "check, superuser: exit %d: %s", code, pgh_run_stdout(&c->r, 0));
    code = replicate(c, "", "plain");
    const char *err = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(code == 3 && strstr(err, "destination role plain may not set "
                                       "session_replication_role") != NULL,
              "plain role: exit %d: %s", code, err);
    char *schema = pgh_test_value(c->p.d, "SELECT count(*) FROM pg_namespace WHERE nspname = "
                                          "'pghost'");
    char *slots = pgh_test_value(c->p.s, "SELECT count(*) FROM pg_replication_slots");
    PGH_CHECK(strcmp(schema, "0") == 0 && strcmp(slots, "0") == 0,
              "refused, yet wrote: %s state schemas, %s slots", schema, slots);
    free(schema);
    free(slots);
    code = pgh_run_exec(&c->r, 60, "check", NULL); /* the plain role, the default */
    PGH_CHECK(code == 3 && strstr(pgh_run_stdout(&c->r, 0), "destination role plain may not set "
                                                            "session_replication_role") != NULL,
              "check, plain role: exit %d: %s", code, pgh_run_stdout(&c->r, 0));
    code = replicate(c, "disable_triggers: false\n", "plain");
    PGH_CHECK(code == 0, "plain role, false: exit %d: %s", code, pgh_run_stderr(&c->r, 0));
    pgh_run_compare(&c->p, "SELECT id FROM t ORDER BY id", "SELECT id FROM seen ORDER BY id", NULL);
}

int main(int argc, char **argv)
{
    PGH_CHECK(argc == 2, "usage: it_writer conflict|triggers");
    ctx c;
    memset(&c, 0, sizeof(c));
    setup(&c);
    if (strcmp(argv[1], "conflict") == 0)
        case_conflict(&c);
    else if (strcmp(argv[1], "triggers") == 0)
        case_triggers(&c);
    else
        pgh_test_fail("unknown case %s", argv[1]);
    pgh_run_pair_stop(&c.p);
    puts("PASS");
    return 0;
}
