/* util/secret_file.c: see secret_file.h. */
#include "util/secret_file.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pgh_secret_file_read(char **out, const char *path)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return errno ? errno : EIO;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, f);
    fclose(f);
    while (len > 0 && isspace((unsigned char)line[len - 1]))
        line[--len] = '\0';
    if (len <= 0) {
        if (line != NULL)
            memset(line, 0, cap);
        free(line);
        return -1;
    }
    *out = line;
    return 0;
}
