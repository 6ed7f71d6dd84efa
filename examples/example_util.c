/* Helpers shared by the examples (see example_util.h). */
#include "example_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

FILE *ex_csv_open(char *path, size_t n, const char *dir, const char *name)
{
    snprintf(path, n, "%s/%s", dir, name);
    return fopen(path, "w");
}

void ex_csv_columns(FILE *f, const char *lead, const char *prefix, size_t count,
                    const char *tail)
{
    fputs(lead, f);
    for (size_t a = 0; a < count; a++)
        fprintf(f, ",%s%zu", prefix, a + 1);
    fputs(tail, f);
}

void ex_csv_values(FILE *f, char conv, int prec, const double *x, size_t count,
                   const char *tail)
{
    for (size_t a = 0; a < count; a++)
        fprintf(f, conv == 'g' ? ",%.*g" : ",%.*f", prec, x[a]);
    fputs(tail, f);
}

int ex_write_series(char *path, size_t pathn, const char *dir, const char *name,
                    const char *prefix, size_t count, size_t n, const uint64_t *step,
                    const double *t, const double *edge, const size_t *n_out, const double *y)
{
    FILE *f = ex_csv_open(path, pathn, dir, name);
    if (!f)
        return -1;
    ex_csv_columns(f, edge ? "step,t,edge,n_outside" : "step,t", prefix, count, "\n");
    for (size_t k = 0; k < n; k++) {
        fprintf(f, "%llu,%.6f", (unsigned long long)step[k], t[k]);
        if (edge)
            fprintf(f, ",%.8g,%zu", edge[k], n_out[k]);
        ex_csv_values(f, 'g', 8, y + k * count, count, "\n");
    }
    return fclose(f) == 0 ? 0 : -1;
}

int ex_gnuplot_missing(const char *what)
{
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        printf("gnuplot not found: no %s\n", what);
        return 1;
    }
    return 0;
}

int ex_gnuplot(const char *dir, const char *prog, const char *name, const char *size,
               ex_gp_body *body, const void *user)
{
    char gp[4096], cmd[4300];
    snprintf(gp, sizeof gp, "%s/%s.gp", dir, name);
    for (int attempt = 0; attempt < 2; attempt++) {
        FILE *f = fopen(gp, "w");
        if (!f) {
            perror(gp);
            return -1;
        }
        fprintf(f, "# written by %s; run in %s\n", prog, dir);
        if (size) {
            fprintf(f, "set terminal %s size %s%s\n", attempt == 0 ? "pngcairo" : "png", size,
                    attempt == 0 ? " font 'sans,11'" : "");
            fprintf(f, "set output '%s.png'\nset datafile separator ','\n", name);
        }
        body(f, attempt, user);
        fclose(f);
        snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot %s.gp 2>/dev/null", dir, name);
        if (system(cmd) == 0)
            return 0;
    }
    return 1;
}

void ex_figure(const char *dir, const char *name, const char *size, ex_gp_body *body,
               const void *user)
{
    if (ex_gnuplot_missing("figure"))
        return;
    int r = ex_gnuplot(dir, name, name, size, body, user);
    if (r == 0)
        printf("figure: %s/%s.png\n", dir, name);
    else if (r > 0)
        printf("gnuplot failed: no figure\n");
}

static void gp_string(FILE *f, int attempt, const void *user)
{
    (void)attempt;
    fputs((const char *)user, f);
}

int ex_figure_script(const char *dir, const char *prog, const char *name, const char *size,
                     const char *script)
{
    int r = ex_gnuplot(dir, prog, name, size, gp_string, script);
    if (r == 0) {
        printf("figure: %s/%s.png\n", dir, name);
        return 0;
    }
    if (r > 0)
        printf("gnuplot failed: no figure %s\n", name);
    return -1;
}

void ex_jacobi(size_t n, const double *S, double *lam, double *E)
{
    double *A = malloc(n * n * sizeof(double));
    double *V = malloc(n * n * sizeof(double));
    size_t *idx = malloc(n * sizeof(size_t));
    if (!A || !V || !idx)
        abort();
    memcpy(A, S, n * n * sizeof(double));
    for (size_t i = 0; i < n * n; i++)
        V[i] = 0;
    for (size_t i = 0; i < n; i++)
        V[i * n + i] = 1;
    double norm = 0;
    for (size_t i = 0; i < n * n; i++)
        norm += A[i] * A[i];
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++)
                off += A[p * n + q] * A[p * n + q];
        if (off < 1e-30 * norm)
            break;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++) {
                double apq = A[p * n + q];
                if (fabs(apq) < 1e-300)
                    continue;
                double th = (A[q * n + q] - A[p * n + p]) / (2 * apq);
                double t = (th >= 0 ? 1.0 : -1.0) / (fabs(th) + sqrt(th * th + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (size_t k = 0; k < n; k++) {
                    double x = A[k * n + p], y = A[k * n + q];
                    A[k * n + p] = c * x - s * y;
                    A[k * n + q] = s * x + c * y;
                }
                for (size_t k = 0; k < n; k++) {
                    double x = A[p * n + k], y = A[q * n + k];
                    A[p * n + k] = c * x - s * y;
                    A[q * n + k] = s * x + c * y;
                }
                for (size_t k = 0; k < n; k++) {
                    double x = V[k * n + p], y = V[k * n + q];
                    V[k * n + p] = c * x - s * y;
                    V[k * n + q] = s * x + c * y;
                }
            }
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (A[idx[j] * n + idx[j]] > A[idx[i] * n + idx[i]]) {
                size_t t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
            }
    for (size_t a = 0; a < n; a++) {
        lam[a] = A[idx[a] * n + idx[a]];
        for (size_t i = 0; i < n; i++)
            E[i * n + a] = V[i * n + idx[a]];
    }
    free(A);
    free(V);
    free(idx);
}

double ex_slope(const double *x, const double *y, size_t n)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; i++) {
        sx += x[i];
        sy += y[i];
        sxx += x[i] * x[i];
        sxy += x[i] * y[i];
    }
    double d = n * sxx - sx * sx;
    return d > 0 ? (n * sxy - sx * sy) / d : NAN;
}
