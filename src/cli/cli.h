/*
 * The command-line front end: the only code that prints to stdout, reads the environment or
 * exits. Each sub-command lives in its own cmd_*.c and parses its command line through
 * pgh_cli_parse (options.c), declaring only the options of its own.
 */
#ifndef PGH_CLI_H
#define PGH_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "pghost/config.h"
#include "pghost/log.h"
#include "pghost/pipeline.h"
#include "pghost/stats.h"
#include "source/copy.h"

/* Exit codes */
#define PGH_EXIT_OK 0
#define PGH_EXIT_FAILURE 1 /* the run failed */
#define PGH_EXIT_USAGE 2   /* bad command line or configuration */
#define PGH_EXIT_PRECOND 3 /* a preflight check failed: nothing was written */

int pgh_cli_replicate(int argc, char **argv);
int pgh_cli_status(int argc, char **argv);
int pgh_cli_teardown(int argc, char **argv);
int pgh_cli_init(int argc, char **argv);           /* cmd_init.c */
int pgh_cli_verify(int argc, char **argv);         /* cmd_verify.c */
int pgh_cli_sync_sequences(int argc, char **argv); /* cmd_sequences.c */
int pgh_cli_snapshot(int argc, char **argv);       /* cmd_snapshot.c */
int pgh_cli_check(int argc, char **argv);          /* cmd_check.c */
int pgh_cli_capture(int argc, char **argv);        /* cmd_nats.c */
int pgh_cli_apply(int argc, char **argv);          /* cmd_nats.c */
/* pghost status's part for the distributed mode: every applier (consumer) of cfg's stream, as
 * text or one JSON document; returns the exit status (cmd_nats.c). */
int pgh_cli__nats_status(pgh_config *cfg, bool json);

/* What an option of a command takes, and so what its value pointer points to. */
typedef enum pgh_cli_kind {
    PGH_CLI_FLAG,    /* no argument: sets a bool to true */
    PGH_CLI_STRING,  /* any argument: sets a const char * (borrowed from argv) */
    PGH_CLI_INT,     /* a whole number from min to max: sets an int */
    PGH_CLI_SECONDS, /* a number of seconds from min to max: sets a double */
} pgh_cli_kind;

/* One option of a command: --name, with the argument its kind says. */
typedef struct pgh_cli_option {
    const char *name;  /* the long name without "--" */
    pgh_cli_kind kind; /* what the argument is */
    void *value;       /* borrowed: where the value goes (bool, const char *, int or double) */
    long min, max;     /* the accepted range of PGH_CLI_INT and PGH_CLI_SECONDS */
    const char *what;  /* PGH_CLI_STRING: what the value is, for "--to needs a value (postgres
                          or stdout)"; NULL says "a value" */
} pgh_cli_option;

/* A sub-command as the parser sees it. Every command also takes -h/--help, --log-level LEVEL,
 * -v (debug), -q (error), --log-format text|json, --source, --destination, --publication,
 * --table (repeatable) and at most one CONFIG.yaml (exactly one when it takes operands);
 * options may come before or after it. */
typedef struct pgh_cli_command {
    const char *name;              /* "replicate": as typed, and in error messages */
    const char *usage;             /* what --help prints: lists every option, common ones too */
    pgh_log_level log_level;       /* the level without --log-level */
    const pgh_cli_option *options; /* borrowed: the command's own options; NULL when none */
    int noptions;                  /* how many (at most PGH_CLI_MAX_OPTIONS) */
    const char *operands;          /* NULL: nothing after CONFIG.yaml; else what must follow it,
                                      one or more ("TABLE...", for messages) */
    char ***operand_values;        /* with operands: set to the first of them in argv */
    int *noperands;                /* with operands: how many */
    bool no_destination;           /* the command writes to no destination: what the configured
                                      one needs is not checked (pgh_cli_start) */
} pgh_cli_command;

#define PGH_CLI_MAX_OPTIONS 16
/* pgh_cli_parse's "go on": every other value it returns is an exit status. */
#define PGH_CLI_RUN (-1)

/* Parse a command's argv (argv[0] is the command's name): set each option's value, print the
 * usage on --help, install the stderr logger at the chosen level and set *config_path (borrowed
 * from argv). Returns PGH_CLI_RUN, PGH_EXIT_OK after --help, or PGH_EXIT_USAGE after printing
 * what is wrong. */
int pgh_cli_parse(const char **config_path, const pgh_cli_command *cmd, int argc, char **argv);

/* The configuration flags every command takes (config_sources.c). */
#define PGH_CLI_MAX_TABLES 64
typedef struct pgh_cli_overrides {
    const char *source;                      /* --source CONNSTR, or NULL */
    const char *destination;                 /* --destination CONNSTR, or NULL */
    const char *publication;                 /* --publication NAME, or NULL */
    const char *tables[PGH_CLI_MAX_TABLES];  /* --table schema.table[=dest_schema.dest_table],
                                                each borrowed from argv */
    int ntables;
    const char *excludes[PGH_CLI_MAX_TABLES]; /* --exclude-table schema.table (patterns) */
    int nexcludes;
} pgh_cli_overrides;

/* cfg->path of a configuration given without a file. */
#define PGH_CLI_NO_FILE "(command line)"

/* The configuration from the file's (from_file, may be NULL; taken over, freed on failure),
 * then the PGH_CFG_ environment variables, then the flags o, checked (pgh_config_check). An
 * unknown PGH_CFG_ variable is an error. Returns 0, or PGH_ECONFIG/PGH_ENOMEM with err set
 * (never a value in it). */
int pgh_cli__build_config(pgh_config **out, pgh_config *from_file, const pgh_cli_overrides *o,
                          pgh_error *err);

/* How pgh_cli_load_config ends. */
typedef struct pgh_cli_load {
    const char *to;      /* --to: the destination instead of the file's, or NULL */
    bool no_destination; /* leave pgh_config_check_destination out */
} pgh_cli_load;

/* Load the configuration at path (NULL: no file), expanding ${VAR} from the environment, and
 * warn when the file shows a password to other users; then apply PGH_CFG_ variables and the
 * configuration flags (pgh_cli__build_config), then how->to, and check what that destination
 * needs (pgh_config_check_destination). Returns PGH_EXIT_OK, or PGH_EXIT_USAGE after printing
 * the error; the caller frees *out with pgh_config_free. */
int pgh_cli_load_config(pgh_config **out, const char *path, const pgh_cli_load *how);

/* Warn (one line, on stderr) when the configuration file at path holds a password in one of
 * cfg's connection strings and group or others may read it (secrets.c). */
void pgh_cli_warn_readable_password(const pgh_config *cfg, const char *path);

/* pgh_cli_parse, then pgh_cli_load_config into *cfg: for commands that check nothing in
 * between. Returns PGH_CLI_RUN (the caller frees *cfg) or the exit status. */
int pgh_cli_start(pgh_config **cfg, const pgh_cli_command *cmd, int argc, char **argv);

/* PGH_EXIT_OK when cfg names a destination server; otherwise PGH_EXIT_USAGE after printing
 * "<file>: destination_connection is not set: <hint>". */
int pgh_cli_need_destination(const pgh_config *cfg, const char *hint);

/* Where destination: stdout keeps its position: state_file, else the configuration file's name
 * + ".state" (set into cfg->state_file). NULL when out of memory. */
const char *pgh_cli_state_file(pgh_config *cfg);

/* rules.c: the rules of cfg->rules_file (*out NULL when there is none), read relative to the
 * configuration file's directory, the hash salt from PGHOST_RULES_HASH_SALT. Returns
 * PGH_EXIT_OK or the exit status after printing the error. */
int pgh_cli_load_rules(pgh_rules **out, const pgh_config *cfg);

/* The destination cfg names (postgres, duckdb, file, or stdout with its state file), new
 * (destination.c); free with pgh_destination_free. */
int pgh_cli_open_destination(pgh_destination **out, pgh_config *cfg, pgh_error *err);

/* The exit status of a library result: 0 done, 2 PGH_ECONFIG, 3 PGH_EPRECOND, 1 otherwise. */
int pgh_cli_exit_code(int rc);

/* How log lines look: text, or one JSON object a line (--log-format). */
typedef enum pgh_cli_log_format { PGH_CLI_LOG_TEXT = 0, PGH_CLI_LOG_JSON = 1 } pgh_cli_log_format;

/* Install the stderr logger at this level, in this format; pgh_cli_error follows the format. */
void pgh_cli_log_init(pgh_log_level level, pgh_cli_log_format format);

/* JSON log lines carry the phase of this gauge (pghost/stats.h; borrowed until replaced, NULL:
 * none). */
void pgh_cli_log_phase(const pgh_gauge *phase);

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
