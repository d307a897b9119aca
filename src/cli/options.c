/*
 * The one option parser of the sub-commands, and the one way they load the configuration.
 *
 * A command declares its own options in a table (pgh_cli_option: name, kind of argument, where
 * the value goes); pgh_cli_parse adds what every command takes: -h/--help, --log-level LEVEL,
 * -v/-q, --log-format FORMAT and exactly one CONFIG.yaml. getopt_long permutes, so options may follow the file.
 */
#include <assert.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* getopt_long's return values: the common options, then OPT_OWN + the index of the command's
 * own option. */
enum {
    OPT_HELP = 'h',
    OPT_VERBOSE = 'v',
    OPT_QUIET = 'q',
    OPT_LOG_LEVEL = 1,
    OPT_LOG_FORMAT,
    OPT_SOURCE,
    OPT_DESTINATION,
    OPT_PUBLICATION,
    OPT_TABLE,
    OPT_EXCLUDE_TABLE,
    OPT_OWN = 256
};

/* Printed after every command's own --help. */
static const char CONFIG_HELP[] =
    "\n"
    "Configuration: the file (optional when the rest gives what is needed), then PGH_CFG_<KEY>\n"
    "environment variables (PGH_CFG_SOURCE_CONNECTION, PGH_CFG_TABLES...: every key, see the\n"
    "table in README.md), then these flags; a later one wins:\n"
    "  --source CONNSTR       source_connection (libpq key=value string or URI)\n"
    "  --destination CONNSTR  destination_connection\n"
    "  --publication NAME     publication_name\n"
    "  --table SCHEMA.TABLE[=DEST_SCHEMA.DEST_TABLE]\n"
    "                         a table to sync (patterns as in the file), into another name\n"
    "                         after =; repeat for more: the flags' tables replace the file's\n"
    "  --exclude-table SCHEMA.TABLE\n"
    "                         leave out what the tables select (patterns); repeatable: the\n"
    "                         flags' exclusions replace the file's\n";

/* The configuration flags of this run (the CLI runs one command per process): set by
 * pgh_cli_parse, read by pgh_cli_load_config. Strings borrowed from argv. */
static pgh_cli_overrides overrides;

/* The only reader of the environment for ${VAR} in the configuration. */
static const char *env_lookup(const char *name, void *payload)
{
    (void)payload;
    return getenv(name);
}

/* getopt_long's table: the command's own options, the common ones, the terminator. */
static void build_longopts(struct option *out, const pgh_cli_command *cmd)
{
    assert(cmd->noptions <= PGH_CLI_MAX_OPTIONS);
    int n = 0;
    for (; n < cmd->noptions && n < PGH_CLI_MAX_OPTIONS; n++) {
        const pgh_cli_option *o = &cmd->options[n];
        int has_arg = o->kind == PGH_CLI_FLAG ? no_argument : required_argument;
        out[n] = (struct option){o->name, has_arg, NULL, OPT_OWN + n};
    }
    out[n++] = (struct option){"log-level", required_argument, NULL, OPT_LOG_LEVEL};
    out[n++] = (struct option){"log-format", required_argument, NULL, OPT_LOG_FORMAT};
    out[n++] = (struct option){"source", required_argument, NULL, OPT_SOURCE};
    out[n++] = (struct option){"destination", required_argument, NULL, OPT_DESTINATION};
    out[n++] = (struct option){"publication", required_argument, NULL, OPT_PUBLICATION};
    out[n++] = (struct option){"table", required_argument, NULL, OPT_TABLE};
    out[n++] = (struct option){"exclude-table", required_argument, NULL, OPT_EXCLUDE_TABLE};
    out[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
    out[n] = (struct option){NULL, 0, NULL, 0};
}

static bool parse_int(int *out, const char *s, long min, long max)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < min || v > max)
        return false;
    *out = (int)v;
    return true;
}

static bool parse_seconds(double *out, const char *s, long min, long max)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !(v >= (double)min) || v > (double)max)
        return false;
    *out = v;
    return true;
}

/* Store arg as option o's value; PGH_CLI_RUN, or PGH_EXIT_USAGE after saying what o takes. */
static int set_value(const pgh_cli_option *o, const char *arg)
{
    switch (o->kind) {
    case PGH_CLI_FLAG:
        *(bool *)o->value = true;
        return PGH_CLI_RUN;
    case PGH_CLI_STRING:
        *(const char **)o->value = arg;
        return PGH_CLI_RUN;
    case PGH_CLI_INT:
        if (parse_int(o->value, arg, o->min, o->max))
            return PGH_CLI_RUN;
        pgh_cli_error("--%s must be a whole number from %ld to %ld, not \"%s\"", o->name, o->min,
                      o->max, arg);
        return PGH_EXIT_USAGE;
    case PGH_CLI_SECONDS:
        if (parse_seconds(o->value, arg, o->min, o->max))
            return PGH_CLI_RUN;
        pgh_cli_error("--%s must be a number of seconds from %ld to %ld, not \"%s\"", o->name,
                      o->min, o->max, arg);
        return PGH_EXIT_USAGE;
    }
    return PGH_EXIT_USAGE;
}

/* Name and value description of a common option taking a value; *name stays NULL for others. */
static void common_option(const char **name, const char **what, int id)
{
    static const struct {
        int id;
        const char *name, *what;
    } common[] = {
        {OPT_LOG_LEVEL, "log-level", "error, warn, info, debug or trace"},
        {OPT_LOG_FORMAT, "log-format", "text or json"},
        {OPT_SOURCE, "source", "a connection string"},
        {OPT_DESTINATION, "destination", "a connection string"},
        {OPT_PUBLICATION, "publication", "a publication name"},
        {OPT_TABLE, "table", "SCHEMA.TABLE"},
        {OPT_EXCLUDE_TABLE, "exclude-table", "SCHEMA.TABLE"},
    };
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
        if (common[i].id == id) {
            *name = common[i].name;
            *what = common[i].what;
        }
}

/* "--to needs a value (postgres, stdout or duckdb)": the option getopt_long found without its value
 * (id is its val, as getopt_long leaves it in optopt). */
static void say_needs_value(const pgh_cli_command *cmd, int id, const char *opt)
{
    const char *name = NULL, *what = NULL;
    char range[96];
    if (id >= OPT_OWN && id < OPT_OWN + cmd->noptions) {
        const pgh_cli_option *o = &cmd->options[id - OPT_OWN];
        name = o->name;
        what = o->what;
        if (o->kind == PGH_CLI_INT || o->kind == PGH_CLI_SECONDS) {
            snprintf(range, sizeof(range), "%s from %ld to %ld",
                     o->kind == PGH_CLI_INT ? "a whole number" : "a number of seconds", o->min,
                     o->max);
            what = range;
        }
    } else {
        common_option(&name, &what, id);
    }
    if (name == NULL)
        pgh_cli_error("option \"%s\" for %s needs a value: see pghost %s --help", opt, cmd->name,
                      cmd->name);
    else
        pgh_cli_error("--%s needs a value (%s): see pghost %s --help", name,
                      what ? what : "a value", cmd->name);
}

/* The logging options every command takes. */
typedef struct log_opts {
    pgh_log_level level;
    pgh_cli_log_format format;
} log_opts;

static int take_log_format(log_opts *log, const char *arg)
{
    if (strcmp(arg, "text") == 0 || strcmp(arg, "json") == 0) {
        log->format = arg[0] == 'j' ? PGH_CLI_LOG_JSON : PGH_CLI_LOG_TEXT;
        return PGH_CLI_RUN;
    }
    pgh_cli_error("--log-format must be text or json, not \"%s\"", arg);
    return PGH_EXIT_USAGE;
}

/* One more --table or --exclude-table name (borrowed from argv). */
static int add_name(const char **names, int *n, const char *option, const char *name)
{
    if (*n < PGH_CLI_MAX_TABLES) {
        names[(*n)++] = name;
        return PGH_CLI_RUN;
    }
    pgh_cli_error("--%s is given more than %d times: use patterns (schema.*)", option,
                  PGH_CLI_MAX_TABLES);
    return PGH_EXIT_USAGE;
}

/* Act on what getopt_long returned (c); opt is the argument it was read from. */
static int take_option(const pgh_cli_command *cmd, int c, const char *opt, log_opts *log)
{
    if (c >= OPT_OWN && c < OPT_OWN + cmd->noptions)
        return set_value(&cmd->options[c - OPT_OWN], optarg);
    switch (c) {
    case OPT_HELP:
        fputs(cmd->usage, stdout);
        fputs(CONFIG_HELP, stdout);
        return PGH_EXIT_OK;
    case OPT_VERBOSE:
        log->level = PGH_LOG_DEBUG;
        return PGH_CLI_RUN;
    case OPT_QUIET:
        log->level = PGH_LOG_ERROR;
        return PGH_CLI_RUN;
    case OPT_LOG_FORMAT:
        return take_log_format(log, optarg);
    case OPT_LOG_LEVEL:
        if (pgh_log_level_parse(&log->level, optarg) == 0)
            return PGH_CLI_RUN;
        pgh_cli_error("--log-level must be error, warn, info, debug or trace, not \"%s\"", optarg);
        return PGH_EXIT_USAGE;
    case OPT_SOURCE:
        overrides.source = optarg;
        return PGH_CLI_RUN;
    case OPT_DESTINATION:
        overrides.destination = optarg;
        return PGH_CLI_RUN;
    case OPT_PUBLICATION:
        overrides.publication = optarg;
        return PGH_CLI_RUN;
    case OPT_TABLE:
        return add_name(overrides.tables, &overrides.ntables, "table", optarg);
    case OPT_EXCLUDE_TABLE:
        return add_name(overrides.excludes, &overrides.nexcludes, "exclude-table", optarg);
    case ':':
        say_needs_value(cmd, optopt, opt);
        return PGH_EXIT_USAGE;
    default:
        pgh_cli_error("unknown option \"%s\" for %s: see pghost %s --help", opt, cmd->name,
                      cmd->name);
        return PGH_EXIT_USAGE;
    }
}

int pgh_cli_parse(const char **config_path, const pgh_cli_command *cmd, int argc, char **argv)
{
    /* the command's own, the 8 common long options (build_longopts) and the terminator */
    struct option longopts[PGH_CLI_MAX_OPTIONS + 9];
    build_longopts(longopts, cmd);
    log_opts log = {cmd->log_level, PGH_CLI_LOG_TEXT};
    opterr = 0;
    int c;
    /* The leading ':' makes a missing argument ':' rather than '?' (an unknown option). */
    while ((c = getopt_long(argc, argv, ":hvq", longopts, NULL)) != -1) {
        int rc = take_option(cmd, c, argv[optind - 1], &log);
        if (rc != PGH_CLI_RUN)
            return rc;
    }
    if (cmd->operands && optind >= argc - 1) {
        pgh_cli_error("%s needs a configuration file and %s: pghost %s [options] CONFIG.yaml %s",
                      cmd->name, cmd->operands, cmd->name, cmd->operands);
        return PGH_EXIT_USAGE;
    }
    /* Without operands the file is optional: flags and PGH_CFG_ variables may give it all. */
    if (cmd->operands == NULL && optind < argc - 1) {
        pgh_cli_error("%s takes at most one configuration file: pghost %s [options] [CONFIG.yaml]",
                      cmd->name, cmd->name);
        return PGH_EXIT_USAGE;
    }
    *config_path = optind < argc ? argv[optind] : NULL;
    if (cmd->operands) {
        *cmd->operand_values = argv + optind + 1;
        *cmd->noperands = argc - optind - 1;
    }
    pgh_cli_log_init(log.level, log.format);
    return PGH_CLI_RUN;
}

/* --to, then what the destination needs; one line printed on failure. */
static int choose_destination(pgh_config *cfg, const pgh_cli_load *how)
{
    if (how->to && pgh_config_destination_parse(&cfg->destination, how->to) != 0) {
        pgh_cli_error("--to must be postgres, stdout, file, duckdb or webhook, not \"%s\"",
                      how->to);
        return PGH_EXIT_USAGE;
    }
    pgh_error err;
    pgh_error_clear(&err);
    if (!how->no_destination && pgh_config_check_destination(cfg, &err) != 0) {
        pgh_cli_error("%s: %s", cfg->path, err.message);
        return PGH_EXIT_USAGE;
    }
    return PGH_EXIT_OK;
}

int pgh_cli_load_config(pgh_config **out, const char *path, const pgh_cli_load *how)
{
    pgh_error err;
    pgh_error_clear(&err);
    pgh_config *file = NULL;
    *out = NULL;
    if (path != NULL && pgh_config_load(&file, path, env_lookup, NULL, &err) != 0) {
        pgh_cli_error("%s", err.message);
        return PGH_EXIT_USAGE;
    }
    if (file != NULL)
        pgh_cli_warn_readable_password(file, path);
    if (pgh_cli__build_config(out, file, &overrides, &err) == 0) {
        int rc = choose_destination(*out, how);
        if (rc != PGH_EXIT_OK) {
            pgh_config_free(*out);
            *out = NULL;
        }
        return rc;
    }
    const char *where = path ? path : PGH_CLI_NO_FILE;
    if (strstr(err.message, " is not set") != NULL || strstr(err.message, "no table") != NULL)
        pgh_cli_error("%s: %s: give it in the file, a PGH_CFG_ environment variable or a flag "
                      "(see --help)",
                      where, err.message);
    else
        pgh_cli_error("%s: %s", where, err.message);
    return PGH_EXIT_USAGE;
}

int pgh_cli_start(pgh_config **cfg, const pgh_cli_command *cmd, int argc, char **argv)
{
    const char *path = NULL;
    int rc = pgh_cli_parse(&path, cmd, argc, argv);
    if (rc != PGH_CLI_RUN)
        return rc;
    pgh_cli_load how = {.no_destination = cmd->no_destination};
    rc = pgh_cli_load_config(cfg, path, &how);
    return rc == PGH_EXIT_OK ? PGH_CLI_RUN : rc;
}

int pgh_cli_need_destination(const pgh_config *cfg, const char *hint)
{
    if (cfg->destination_connection != NULL)
        return PGH_EXIT_OK;
    pgh_cli_error("%s: destination_connection is not set: %s", cfg->path, hint);
    return PGH_EXIT_USAGE;
}

const char *pgh_cli_state_file(pgh_config *cfg)
{
    if (cfg->state_file == NULL) {
        /* without a file: pghost-<slot>.state in the working directory */
        bool file = strcmp(cfg->path, PGH_CLI_NO_FILE) != 0;
        const char *stem = file ? cfg->path : cfg->slot_name;
        size_t len = strlen(stem) + sizeof("pghost-.state");
        cfg->state_file = malloc(len);
        if (cfg->state_file)
            snprintf(cfg->state_file, len, "%s%s.state", file ? "" : "pghost-", stem);
    }
    return cfg->state_file;
}

int pgh_cli_exit_code(int rc)
{
    switch (rc) {
    case 0:
        return PGH_EXIT_OK;
    case PGH_ECONFIG:
        return PGH_EXIT_USAGE;
    case PGH_EPRECOND:
        return PGH_EXIT_PRECOND;
    default:
        return PGH_EXIT_FAILURE;
    }
}
