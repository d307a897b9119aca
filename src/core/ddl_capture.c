/* PLACEHOLDER being replaced by its owner this session: see core_internal.h (DDL capture). */
#include "core_internal.h"

int pgh_core__ddl_capture_install(bool *installed, PGconn *src, const pgh_config *cfg,
                                  pgh_error *err)
{
    (void)src;
    (void)cfg;
    (void)err;
    *installed = false;
    return 0;
}

int pgh_core__ddl_capture_remove(PGconn *src, const pgh_config *cfg, pgh_error *err)
{
    (void)src;
    (void)cfg;
    (void)err;
    return 0;
}
