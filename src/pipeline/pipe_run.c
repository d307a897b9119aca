/* The helpers every part of a run shares on its pipe_run: see pipeline_internal.h. */
#include <stdio.h>
#include <stdlib.h>

#include "pipeline_internal.h"

bool pgh_pipeline__canceled(const pipe_run *r)
{
    return r->o->cancel && atomic_load(r->o->cancel);
}

int pgh_pipeline__open_dest(pipe_run *r, pgh_error *err)
{
    pgh_destination_info info = {.config = r->cfg, .slot = r->cfg->slot_name,
                                 .follow = r->follow, .stats = r->o->stats};
    r->dest_open = true; /* close is due whatever open says */
    return r->ops->open(r->user, &info, err);
}

void pgh_pipeline__close_dest(pipe_run *r)
{
    if (r->dest_open && r->ops->close)
        r->ops->close(r->user);
    r->dest_open = false;
}

int pgh_pipeline__init_result(pipe_run *r, pgh_error *err)
{
    const pgh_config *cfg = r->cfg;
    pgh_pipeline_result *out = r->out;
    free(out->tables);
    out->ntables = (int)cfg->ntables;
    out->tables = calloc(cfg->ntables + 1, sizeof(*out->tables));
    if (out->tables == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (size_t i = 0; i < cfg->ntables; i++) {
        const pgh_table_map *m = &cfg->tables[i];
        snprintf(out->tables[i].source, sizeof(out->tables[i].source), "%s.%s",
                 m->source_schema, m->source_table);
        snprintf(out->tables[i].destination, sizeof(out->tables[i].destination), "%s.%s",
                 m->dest_schema, m->dest_table);
    }
    return 0;
}
