/*
 * pghost/pghost.h - the whole public API of libpghost in one include.
 *
 * A pipeline moves the existing rows and the changes of PostgreSQL tables, consistently, into a
 * destination:
 *
 *   pgh_config       what to move and how (config.h): from YAML, or built in code
 *   pgh_source       the PostgreSQL source (source.h)
 *   pgh_destination  where it goes (destination.h): PostgreSQL (postgres.h), JSON lines
 *                    (json.h), or your own table of callbacks
 *   pgh_pipeline_run the copy, the stream, the checkpoints, the resume (pipeline.h)
 *
 * and around it: pghost init (init.h), status and teardown (lifecycle.h), verify (verify.h),
 * sequences at cutover (sequences.h). Errors are int codes with a pgh_error record (error.h);
 * the library prints nothing and logs through the handler you install (log.h).
 *
 * Link with `pkg-config --cflags --libs pghost`.
 */
#ifndef PGHOST_PGHOST_H
#define PGHOST_PGHOST_H

#include "pghost/change.h"
#include "pghost/config.h"
#include "pghost/destination.h"
#include "pghost/duckdb.h"
#include "pghost/error.h"
#include "pghost/export.h"
#include "pghost/file.h"
#include "pghost/init.h"
#include "pghost/json.h"
#include "pghost/webhook.h"
#include "pghost/keyed.h"
#include "pghost/lifecycle.h"
#include "pghost/log.h"
#include "pghost/lsn.h"
#include "pghost/nats.h"
#include "pghost/pipeline.h"
#include "pghost/postgres.h"
#include "pghost/rules.h"
#include "pghost/sequences.h"
#include "pghost/source.h"
#include "pghost/stats.h"
#include "pghost/verify.h"

#endif
