/*
 * The command-line front end: the only code that prints to stdout, reads the environment or
 * exits. Each sub-command lives in its own cmd_*.c.
 */
#ifndef PGH_CLI_H
#define PGH_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "pghost/pipeline.h"
#include "pghost/log.h"

/* Exit codes */
#define PGH_EXIT_OK 0
#define PGH_EXIT_FAILURE 1  /* the run failed */
#define PGH_EXIT_USAGE 2    /* bad command line or configuration */
#define PGH_EXIT_PRECOND 3  /* a preflight check failed: nothing was written */

int pgh_cli_replicate(int argc, char **argv);
int pgh_cli_status(int argc, char **argv);
int pgh_cli_teardown(int argc, char **argv);
int pgh_cli_init(int argc, char **argv);           /* cmd_init.c */
int pgh_cli_verify(int argc, char **argv);         /* cmd_verify.c */
int pgh_cli_sync_sequences(int argc, char **argv); /* cmd_sequences.c */

/* Install the stderr logger at this level. */
void pgh_cli_log_init(pgh_log_level level);

/* Print an error the way every command does: "pghost: <message>" on stderr. */
void pgh_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Progress display: bars on a terminal, a log line every interval otherwise. */
typedef struct pgh_cli_progress pgh_cli_progress;
pgh_cli_progress *pgh_cli_progress_new(bool enabled);
void pgh_cli_progress_free(pgh_cli_progress *p);
/* A pgh_progress_fn (pghost/pipeline.h); payload is the display. */
void pgh_cli_progress_update(const pgh_progress *update, void *payload);
/* Clear the bars before other output. */
void pgh_cli_progress_done(pgh_cli_progress *p);

#endif
