/*
 * pghost check: the destination's free disk space. PostgreSQL has no function that says how
 * much room is left, so this looks at the file system itself, which it can only do when the
 * destination server runs on this machine (a unix socket, localhost, 127.0.0.1 or ::1) and its
 * role may read data_directory (superuser or pg_read_all_settings). Otherwise the result says
 * why it could not be checked. Tablespaces elsewhere are not looked at.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "admin/check_run.h"
#include "pg/sql.h"

#define HEADROOM 1.2 /* the destination needs this many times the source tables' size */

static bool is_local(const char *host)
{
    return host != NULL && (host[0] == '/' || strcmp(host, "localhost") == 0 ||
                            strcmp(host, "127.0.0.1") == 0 || strcmp(host, "::1") == 0);
}

/* Free bytes in the destination's data directory into out->dest_free_bytes, or the reason why
 * not into out->disk_unchecked. */
static void read_free(pgh_check_result *out, PGconn *dst, pgh_error *err)
{
    const char *host = PQhost(dst);
    if (!is_local(host)) {
        snprintf(out->disk_unchecked, sizeof(out->disk_unchecked),
                 "the destination server (host %.200s) is not on this machine", host ? host : "?");
        return;
    }
    int rc = pgh_pg_query_text(out->dest_data_dir, sizeof(out->dest_data_dir), dst,
                               "SELECT pg_catalog.current_setting('data_directory')", 0, NULL,
                               err);
    pgh_error_clear(err);
    if (rc != 0) {
        out->dest_data_dir[0] = '\0';
        snprintf(out->disk_unchecked, sizeof(out->disk_unchecked),
                 "the destination role may not read data_directory (that needs superuser or "
                 "pg_read_all_settings)");
        return;
    }
    struct statvfs vfs;
    if (statvfs(out->dest_data_dir, &vfs) != 0) {
        snprintf(out->disk_unchecked, sizeof(out->disk_unchecked), "statvfs(%.180s) failed: %.40s",
                 out->dest_data_dir, strerror(errno));
        return;
    }
    out->dest_free_bytes = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
}

void pgh_check__disk(check_run *c, PGconn *dst, pgh_error *err)
{
    pgh_check_result *out = c->out;
    out->dest_free_bytes = -1;
    if (out->source_bytes < 0) {
        snprintf(out->disk_unchecked, sizeof(out->disk_unchecked),
                 "the size of the source tables is not known");
        return;
    }
    read_free(out, dst, err);
    double need = HEADROOM * (double)out->source_bytes;
    if (out->dest_free_bytes < 0 || (double)out->dest_free_bytes >= need)
        return;
    pgh_error_set(err, PGH_EPRECOND,
                  "the destination's data directory %s has %.1f MB free, but the selected "
                  "source tables take %.1f MB (with indexes and TOAST) and a copy needs about "
                  "1.2 times that: free space on the destination, or select fewer tables",
                  out->dest_data_dir, (double)out->dest_free_bytes / 1e6,
                  (double)out->source_bytes / 1e6);
    pgh_check__note(c, PGH_EPRECOND, err);
}
