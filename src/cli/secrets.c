/*
 * The warning for a configuration file that holds a password and that other users may read.
 * The password itself is never printed: only the file, its mode and what to do.
 */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

#define SECRETS_READ_MAX (16 << 20) /* bytes of the file searched for the password */

/* The whole file, NUL-terminated and cut to SECRETS_READ_MAX; NULL when it cannot be read. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = f ? malloc(SECRETS_READ_MAX + 1) : NULL;
    size_t n = text ? fread(text, 1, SECRETS_READ_MAX, f) : 0;
    if (text)
        text[n] = '\0';
    if (f)
        fclose(f);
    return text;
}

/* conninfo sets a password that is written out in text (not substituted from ${VAR}). */
static bool password_in(const char *conninfo, const char *text)
{
    if (conninfo == NULL)
        return false;
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    bool found = false;
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (strcmp(o->keyword, "password") == 0 && o->val && o->val[0] != '\0')
            found = strstr(text, o->val) != NULL;
    }
    PQconninfoFree(opts);
    return found;
}

void pgh_cli_warn_readable_password(const pgh_config *cfg, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || (st.st_mode & 077) == 0)
        return;
    char *text = read_text(path);
    if (text == NULL)
        return;
    bool holds = password_in(cfg->source_connection, text) ||
                 password_in(pgh_config_replication_conninfo(cfg), text) ||
                 password_in(cfg->destination_connection, text);
    free(text);
    if (holds)
        pgh_cli_error("warning: %s holds a password and other users may read it (mode %03o): "
                      "run chmod 600 %s, or take the password from ${VAR} or a .pgpass file",
                      path, (unsigned)(st.st_mode & 0777), path);
}
