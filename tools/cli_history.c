/* cli_history.c — 'rbm spectrum --history ARCHIVE': the singular values of W
 * at every checkpoint of an archive (librbm's or an `rbms` HDF5 one) with
 * the Marchenko-Pastur bulk edge, as a table, JSON and a figure (gnuplot):
 * the spectral dynamics of a run, trained here or elsewhere
 * (docs/spectral.md, docs/interop.md). */
#include "cli.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct hist_point {
    uint64_t step;
    double seconds;
    double *w; /* r singular values, descending */
    double edge, sigma;
    size_t n_outside;
};

struct history {
    const char *path;
    enum cli_model_format format;
    char type[32];           /* the rbms model type, or "librbm" */
    size_t nv, nh, r;
    struct hist_point *pt;
    size_t n;
};

static void history_free(struct history *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->pt[i].w);
    free(h->pt);
}

/* The spectrum of m into point p. */
static int spectrum_of(rbm_context *ctx, const rbm_machine *m, struct history *h,
                       struct hist_point *p)
{
    rbm_svd *s = NULL;
    rbm_status st = rbm_svd_new(m, &s);
    size_t r = rbm_svd_rank(s);
    if (st == RBM_OK && h->r && r != h->r) {
        cli_errorf("the checkpoints of '%s' have different shapes", h->path);
        rbm_svd_free(s);
        return EXIT_RUNTIME;
    }
    h->r = r;
    h->nv = rbm_machine_n_visible(m);
    h->nh = rbm_machine_n_hidden(m);
    p->w = st == RBM_OK ? malloc(r * sizeof *p->w) : NULL;
    if (st == RBM_OK && !p->w)
        st = RBM_ERR_NO_MEMORY;
    if (st == RBM_OK)
        st = rbm_svd_get_singular_values(s, p->w, r);
    if (st == RBM_OK)
        st = rbm_svd_bulk(s, &p->sigma, &p->edge, &p->n_outside);
    rbm_svd_free(s);
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot decompose W at step %" PRIu64 " of '%s'", p->step,
                       h->path);
        return EXIT_RUNTIME;
    }
    return 0;
}

/* Steps and times of the checkpoints (h->pt allocated, h->n set). */
static int list_points(rbm_context *ctx, struct history *h, rbm_archive **ar)
{
    rbm_status st;
    size_t n = 0;
    if (h->format == MODEL_FORMAT_RBMS) {
        st = rbm_rbms_list(ctx, h->path, NULL, NULL, 0, &n, h->type, sizeof h->type);
        uint64_t *u = st == RBM_OK ? calloc(n, sizeof *u) : NULL;
        double *t = st == RBM_OK ? calloc(n, sizeof *t) : NULL;
        h->pt = st == RBM_OK ? calloc(n, sizeof *h->pt) : NULL;
        if (st == RBM_OK && (!u || !t || !h->pt))
            st = RBM_ERR_NO_MEMORY;
        if (st == RBM_OK)
            st = rbm_rbms_list(ctx, h->path, u, t, n, &n, NULL, 0);
        for (size_t i = 0; st == RBM_OK && i < n; i++)
            h->pt[i] = (struct hist_point){.step = u[i], .seconds = t[i]};
        free(u), free(t);
    } else {
        snprintf(h->type, sizeof h->type, "librbm");
        st = rbm_archive_open(ctx, h->path, RBM_ARCHIVE_READ, ar);
        n = rbm_archive_count(*ar);
        h->pt = st == RBM_OK ? calloc(n ? n : 1, sizeof *h->pt) : NULL;
        if (st == RBM_OK && !h->pt)
            st = RBM_ERR_NO_MEMORY;
        for (size_t i = 0; st == RBM_OK && i < n; i++)
            st = rbm_archive_info(*ar, i, &h->pt[i].step, &h->pt[i].seconds);
    }
    if (st != RBM_OK) {
        cli_lib_errorf(ctx, st, "cannot read the archive '%s'", h->path);
        return EXIT_RUNTIME;
    }
    if (n == 0) {
        cli_errorf("the archive '%s' holds no model", h->path);
        return EXIT_RUNTIME;
    }
    h->n = n;
    return 0;
}

static int load_history(rbm_context *ctx, struct history *h)
{
    rbm_archive *ar = NULL;
    int rc = list_points(ctx, h, &ar);
    for (size_t i = 0; rc == 0 && i < h->n; i++) {
        rbm_machine *m = NULL;
        rbm_status st = h->format == MODEL_FORMAT_RBMS
                            ? rbm_machine_load_rbms(ctx, h->path, h->pt[i].step, &m)
                            : rbm_archive_load_machine(ar, i, &m);
        if (st != RBM_OK) {
            cli_lib_errorf(ctx, st, "cannot load the model at step %" PRIu64 " of '%s'",
                           h->pt[i].step, h->path);
            rc = EXIT_RUNTIME;
        } else {
            rc = spectrum_of(ctx, m, h, &h->pt[i]);
        }
        rbm_machine_free(m);
    }
    rbm_archive_free(ar);
    return rc;
}

static void print_history_json(const struct history *h, const char *png)
{
    FILE *f = stdout;
    int first = 1;
    cli_json_header(f, &first, "spectrum");
    cli_json_str(f, &first, "archive", h->path);
    cli_json_str(f, &first, "format", h->format == MODEL_FORMAT_RBMS ? "rbms" : "librbm");
    cli_json_str(f, &first, "model_type", h->type);
    cli_json_size(f, &first, "n_visible", h->nv);
    cli_json_size(f, &first, "n_hidden", h->nh);
    cli_json_key(f, &first, "history");
    fputc('[', f);
    for (size_t i = 0; i < h->n; i++) {
        const struct hist_point *p = &h->pt[i];
        int f2 = 1;
        if (i)
            fputs(", ", f);
        cli_json_u64(f, &f2, "step", p->step);
        cli_json_real(f, &f2, "seconds", p->seconds);
        cli_json_real(f, &f2, "bulk_edge", p->edge);
        cli_json_real(f, &f2, "sigma", p->sigma);
        cli_json_size(f, &f2, "n_modes_outside_bulk", p->n_outside);
        cli_json_key(f, &f2, "singular_values");
        cli_json_numbers(f, p->w, h->r);
        fputs("\n}", f);
    }
    fputc(']', f);
    cli_json_str_or_null(f, &first, "plot", png);
    fputs("\n}\n", f);
}

static void print_history_text(const struct history *h, const char *png, const char *note)
{
    printf("archive     %s (%s%s, %zu checkpoints, %zu x %zu)\n", h->path,
           h->format == MODEL_FORMAT_RBMS ? "rbms " : "librbm",
           h->format == MODEL_FORMAT_RBMS ? h->type : "", h->n, h->nv, h->nh);
    size_t k = h->r < 5 ? h->r : 5;
    printf("%10s %10s", "step", "seconds");
    for (size_t j = 0; j < k; j++)
        printf(" %9s%zu", "w", j + 1);
    printf(" %10s %8s\n", "bulk edge", "outside");
    for (size_t i = 0; i < h->n; i++) {
        const struct hist_point *p = &h->pt[i];
        printf("%10" PRIu64 " %10.3f", p->step, p->seconds);
        for (size_t j = 0; j < k; j++)
            printf(" %10.4f", p->w[j]);
        printf(" %10.4f %8zu\n", p->edge, p->n_outside);
    }
    if (png)
        printf("plot        %s\n", png);
    else if (note && note[0])
        printf("plot        %s\n", note);
}

/* history.csv (step,seconds,edge,n_outside,w1..wr) and history.gp in dir. */
static int write_plot_files(const struct history *h, const char *dir, size_t n_plot, char *note,
                            size_t nn)
{
    char *csv = cli_path_join(dir, "history.csv"), *gp = cli_path_join(dir, "history.gp");
    FILE *f = csv ? fopen(csv, "w") : NULL;
    int ok = f != NULL;
    if (f) {
        fprintf(f, "step,seconds,edge,n_outside");
        for (size_t j = 0; j < h->r; j++)
            fprintf(f, ",w%zu", j + 1);
        fputc('\n', f);
        for (size_t i = 0; i < h->n; i++) {
            fprintf(f, "%" PRIu64 ",%.17g,%.17g,%zu", h->pt[i].step, h->pt[i].seconds,
                    h->pt[i].edge, h->pt[i].n_outside);
            for (size_t j = 0; j < h->r; j++)
                fprintf(f, ",%.17g", h->pt[i].w[j]);
            fputc('\n', f);
        }
        ok = fclose(f) == 0 && ok;
    }
    int logx = h->pt[0].step >= 1;
    f = ok && gp ? fopen(gp, "w") : NULL;
    if (f) {
        fprintf(f,
                "# Written by 'rbm spectrum --history' (librbm %s); run 'gnuplot history.gp'.\n"
                "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
                "    set terminal pngcairo size 1000,600 enhanced font \"sans,11\"\n"
                "} else { set terminal png size 1000,600 }\n"
                "set output \"spectrum_history.png\"\n"
                "set datafile separator \",\"\n"
                "set grid lc rgb \"#dddddd\"\n"
                "set title \"Singular values of W over the checkpoints of %s (%s)\" noenhanced\n"
                "set xlabel \"training step (update)\"\n"
                "set ylabel \"singular value (log scale)\"\n"
                "set logscale y\n"
                "%s\n"
                "set key outside right top\n"
                "plot for [i=1:%zu] \"history.csv\" skip 1 using 1:(column(4+i)) with "
                "linespoints pt 7 ps 0.6 lw 2 title sprintf(\"w_{%%d}\", i), \\\n"
                "     \"history.csv\" skip 1 using 1:3 with lines lw 3 dt 2 lc rgb \"black\" "
                "title \"bulk edge\"\n",
                rbm_version_string(), h->path, h->type, logx ? "set logscale x" : "",
                n_plot < h->r ? n_plot : h->r);
        ok = fclose(f) == 0;
    } else {
        ok = 0;
    }
    if (!ok)
        snprintf(note, nn, "cannot write the plot files in '%s'", dir);
    free(csv), free(gp);
    return ok ? 0 : -1;
}

int cli_spectrum_history(rbm_context *ctx, const struct cli_history_opts *o)
{
    struct history h = {.path = o->archive, .format = cli_model_format_of(o->archive)};
    if (h.format == MODEL_FORMAT_RBM) {
        cli_errorf("--history needs an archive (librbm's or rbms' HDF5); '%s' is a model file",
                   o->archive);
        return EXIT_USAGE;
    }
    int rc = load_history(ctx, &h);
    char note[256] = "", *dir = NULL, *png = NULL;
    if (rc == 0 && !o->no_plots) {
        if (o->plots)
            dir = strdup(o->plots);
        else {
            size_t n = strlen(o->archive);
            const char *dot = strrchr(o->archive, '.'), *slash = strrchr(o->archive, '/');
            if (dot && (!slash || dot > slash))
                n = (size_t)(dot - o->archive);
            dir = malloc(n + 16);
            if (dir)
                snprintf(dir, n + 16, "%.*s.history", (int)n, o->archive);
        }
        if (dir && cli_make_dir(dir, note, sizeof note) == 0 &&
            write_plot_files(&h, dir, o->n_plot, note, sizeof note) == 0) {
            int g = cli_run_gnuplot(dir, "history.gp");
            if (g == 0)
                png = cli_path_join(dir, "spectrum_history.png");
            else
                snprintf(note, sizeof note, "%s/history.csv (gnuplot %s)", dir,
                         g == 127 ? "not found" : "failed");
        }
    }
    if (rc == 0) {
        if (o->json)
            print_history_json(&h, png);
        else
            print_history_text(&h, png, note);
        if (cli_flush_stdout() != 0)
            rc = EXIT_RUNTIME;
    }
    free(dir), free(png);
    history_free(&h);
    return rc;
}
