/*
 * pghost/rules.h - transforms and filters between the source and the destination.
 *
 * A pgh_rules value is applied by the pipeline to existing rows and changes alike, before the
 * destination sees them. This version has no rules to build yet: pass NULL to
 * pgh_pipeline_run, and every row and change passes unchanged.
 */
#ifndef PGHOST_RULES_H
#define PGHOST_RULES_H

#include "pghost/export.h"

PGH_BEGIN_DECLS

typedef struct pgh_rules pgh_rules;

PGH_END_DECLS

#endif
