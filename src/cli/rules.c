/*
 * The rules file of a run: rules_file read relative to the configuration file's directory,
 * the hash transform's secret salt from the environment (PGHOST_RULES_HASH_SALT: a secret
 * stays out of files and command lines).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pghost/pghost.h"

/* rules_file as given when absolute or without a configuration file, else beside that file. */
static char *rules_path(const pgh_config *cfg)
{
    const char *slash = strrchr(cfg->path, '/');
    bool beside = cfg->rules_file[0] != '/' && strcmp(cfg->path, PGH_CLI_NO_FILE) != 0 && slash;
    size_t dir = beside ? (size_t)(slash - cfg->path) + 1 : 0;
    size_t len = dir + strlen(cfg->rules_file) + 1;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%.*s%s", (int)dir, cfg->path, cfg->rules_file);
    return p;
}

int pgh_cli_load_rules(pgh_rules **out, const pgh_config *cfg)
{
    *out = NULL;
    if (cfg->rules_file == NULL)
        return PGH_EXIT_OK;
    char *path = rules_path(cfg);
    if (path == NULL) {
        pgh_cli_error("out of memory");
        return PGH_EXIT_FAILURE;
    }
    pgh_rules_opts ro = PGH_RULES_OPTS_INIT;
    ro.hash_salt = getenv("PGHOST_RULES_HASH_SALT");
    pgh_error err;
    pgh_error_clear(&err);
    int rc = pgh_rules_load(out, path, &ro, &err);
    free(path);
    if (rc != 0)
        pgh_cli_error("%s", err.message);
    return rc == 0 ? PGH_EXIT_OK : pgh_cli_exit_code(rc);
}
