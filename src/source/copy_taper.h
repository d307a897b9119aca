/*
 * source/copy_taper.h - where a table's key ranges are cut, as shares of its rows, so that the
 * copy's workers end together.
 *
 * Workers take ranges in order, one at a time. With equal ranges, the last one handed out can
 * still have most of its rows to go when every other worker has none left: on 2 cores at
 * 1,000,000 rows one worker ended 35-110 ms before the other (bench/README.md, issue 12). So
 * the ranges shrink towards the end, by rounds: each round cuts `workers` ranges that together
 * take half of what is left, until a range would hold less than min_share of the table; what
 * is left then is cut into `workers` equal ranges (fewer when those would hold less than
 * min_share). With 2 workers and a min_share of 1/32:
 * 1/4, 1/4, 1/8, 1/8, 1/16, 1/16, 1/32, 1/32, 1/32, 1/32. The last ranges are small, so a worker
 * that runs out of ranges waits at most about one small range for the others.
 *
 * The cuts only balance the work (the ranges cover the whole key space whatever they are).
 * Pure arithmetic: no I/O.
 */
#ifndef PGH_SOURCE_COPY_TAPER_H
#define PGH_SOURCE_COPY_TAPER_H

/* The most cuts pgh_copy_taper_cuts returns (ranges - 1). */
#define PGH_COPY_TAPER_MAX_CUTS 255

/* The smallest range the copy's plan makes, as a share of the table, for workers workers:
 * 1 / (16 * workers), or more when that would be less than min_rows of rows (rows: the table's
 * estimated rows). */
double pgh_copy_taper_min_share(int workers, double rows, double min_rows);

/* Write the ascending cut points (shares of the rows, each in (0, 1)) of the tapered ranges
 * into cuts, at most max_cuts of them, and return how many: ranges - 1. workers <= 1 or
 * min_share outside (0, 1): no cut (one range). */
int pgh_copy_taper_cuts(double *cuts, int max_cuts, int workers, double min_share);

#endif
