/* Helpers shared by the examples: CSV writing, gnuplot figures (pngcairo,
 * else png), and small numerical fits. Compiled into each example. */
#ifndef RBM_EXAMPLE_UTIL_H
#define RBM_EXAMPLE_UTIL_H

#include <rbm/rbm.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* CHECK(call): every fallible librbm call returns an rbm_status; on failure
 * (RBM_DONE counts as success where EX_CHECK_ACCEPTS_DONE is defined to 1
 * before this header) print the call and the context's message (ctx), and
 * goto done. */
#ifndef EX_CHECK_ACCEPTS_DONE
#define EX_CHECK_ACCEPTS_DONE 0
#endif
#define CHECK(call)                                                               \
    do {                                                                          \
        rbm_status st_ = (call);                                                  \
        if (st_ != RBM_OK && !(EX_CHECK_ACCEPTS_DONE && st_ == RBM_DONE)) {       \
            fprintf(stderr, "%s:%d: %s failed: %s: %s\n", __FILE__, __LINE__,     \
                    #call, rbm_status_name(st_), rbm_context_last_error(ctx));    \
            goto done;                                                            \
        }                                                                         \
    } while (0)

/* Open dir/name for writing, the path left in path[n]; NULL on failure. */
FILE *ex_csv_open(char *path, size_t n, const char *dir, const char *name);

/* Header columns: lead, then ",prefix1" .. ",prefixN", then tail. */
void ex_csv_columns(FILE *f, const char *lead, const char *prefix, size_t count,
                    const char *tail);

/* One value per column: ",%.<prec>g" (conv 'g') or ",%.<prec>f" (conv 'f')
 * for each of x[0..count), then tail. */
void ex_csv_values(FILE *f, char conv, int prec, const double *x, size_t count,
                   const char *tail);

/* dir/name: a record per line, "step,t[,edge,n_outside],<prefix>1..<prefix>N"
 * (edge and n_out NULL: without those columns); row k holds y[k*count ..
 * k*count + count) with %.8g. 0, or -1 with the file's path in path[pathn]
 * (for perror). */
int ex_write_series(char *path, size_t pathn, const char *dir, const char *name,
                    const char *prefix, size_t count, size_t n, const uint64_t *step,
                    const double *t, const double *edge, const size_t *n_out, const double *y);

/* 1 (after printing "gnuplot not found: no <what>") when gnuplot is not on
 * PATH, else 0. */
int ex_gnuplot_missing(const char *what);

/* Writes the script of a figure: attempt 0 is for pngcairo, 1 for png. */
typedef void ex_gp_body(FILE *f, int attempt, const void *user);

/* Write dir/name.gp ("# written by <prog>; run in <dir>", then, when size is
 * not NULL, the terminal of the attempt at that size, "set output
 * '<name>.png'" and the CSV separator, then body) and run gnuplot on it in
 * dir: with pngcairo first, then with png. 0 when gnuplot succeeded, 1 when
 * both attempts failed, -1 when the script could not be written (perror). */
int ex_gnuplot(const char *dir, const char *prog, const char *name, const char *size,
               ex_gp_body *body, const void *user);

/* One figure dir/name.png (script dir/name.gp, by <name>): prints "figure:
 * <dir>/<name>.png", or why there is none. */
void ex_figure(const char *dir, const char *name, const char *size, ex_gp_body *body,
               const void *user);

/* One figure of a series: script (the body) written to dir/name.gp by prog;
 * prints "figure: <dir>/<name>.png" or "gnuplot failed: no figure <name>".
 * 0 when drawn, else -1. */
int ex_figure_script(const char *dir, const char *prog, const char *name, const char *size,
                     const char *script);

/* Cyclic Jacobi: eigenvalues (descending) and eigenvectors (columns of E,
 * E[i*n + a]) of a symmetric n x n matrix S. */
void ex_jacobi(size_t n, const double *S, double *lam, double *E);

/* Least-squares slope of y against x over n points (NAN when undefined). */
double ex_slope(const double *x, const double *y, size_t n);

#endif
