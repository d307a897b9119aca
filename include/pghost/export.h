/*
 * pghost/export.h - what marks the public API.
 *
 * PGH_API marks every function of the public headers: libpghost.so is built with
 * -fvisibility=hidden, so only those are exported; everything else stays inside the library.
 * PGH_BEGIN_DECLS / PGH_END_DECLS let C++ include the headers. pgh_cancel_flag is the cancel
 * token the long-running calls take: an atomic int, set non-zero (from any thread, or a signal
 * handler) to ask the call to stop; C++ sees it as std::atomic_int, the same object.
 */
#ifndef PGHOST_EXPORT_H
#define PGHOST_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define PGH_API __attribute__((visibility("default")))
#else
#define PGH_API
#endif

#ifdef __cplusplus
#include <atomic>
#define PGH_BEGIN_DECLS extern "C" {
#define PGH_END_DECLS }
typedef std::atomic_int pgh_cancel_flag;
#else
#include <stdatomic.h>
#define PGH_BEGIN_DECLS
#define PGH_END_DECLS
typedef atomic_int pgh_cancel_flag;
#endif

#endif
