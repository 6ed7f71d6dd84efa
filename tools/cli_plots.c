/* cli_plots.c — pictures: the plots of train's report (CSV data, a gnuplot
 * script, PNGs made by gnuplot when it is installed) and the PNG grid of
 * samples written by 'rbm sample' (libpng). */
#include "cli.h"

#include <png.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* dir/name opened for writing (*path: its path, to free), or NULL with the
 * reason in note. */
static FILE *open_plot_file(const char *dir, const char *name, char **path, char *note, size_t nn)
{
    *path = cli_path_join(dir, name);
    FILE *f = *path ? fopen(*path, "w") : NULL;
    if (!f)
        snprintf(note, nn, "cannot write '%s': %s", *path ? *path : name, strerror(errno));
    return f;
}

/* Close *f (then NULL), written to path: 0, or -1 with the reason in note. */
static int close_plot_file(FILE **f, const char *path, char *note, size_t nn)
{
    int r = fclose(*f);
    *f = NULL;
    if (r == 0)
        return 0;
    snprintf(note, nn, "cannot write '%s'", path);
    return -1;
}

int cli_run_gnuplot(const char *dir, const char *script)
{
    return cli_run_plotter(dir, "gnuplot", script, "gnuplot.log");
}

int cli_run_plotter(const char *dir, const char *program, const char *script, const char *log)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        if (chdir(dir) != 0)
            _exit(126);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        int in = open("/dev/null", O_RDONLY);
        if (in >= 0) {
            dup2(in, STDIN_FILENO);
            close(in);
        }
        execlp(program, program, script, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return 1;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 1;
}

static int has_spectrum(const struct cli_plot_input *in)
{
    return in->tracker && rbm_mode_tracker_record_count(in->tracker) > 0;
}

static int has_fixed_points(const struct cli_plot_input *in)
{
    return in->fp && in->fp->count > 0 && in->fp->kp >= 2;
}

/* the number of TAP states at the spectrum records (--track-fixed-points) */
static int has_tap_states(const struct cli_plot_input *in)
{
    return has_spectrum(in) && in->fp_track && in->fp_track->n > 0;
}

/* What goes into one file: 0, or -1 with note. */
typedef int (*plot_body)(FILE *f, const struct cli_plot_input *in, char *note, size_t nn);

/* dir/name written by body. 0, or -1 with note. */
static int write_plot_file(const char *dir, const char *name, plot_body body,
                           const struct cli_plot_input *in, char *note, size_t nn)
{
    char *p = NULL;
    FILE *f = open_plot_file(dir, name, &p, note, nn);
    int rc = -1;
    if (f && body(f, in, note, nn) == 0)
        rc = close_plot_file(&f, p, note, nn);
    if (f)
        fclose(f);
    free(p);
    return rc;
}

static int fixed_points_csv(FILE *f, const struct cli_plot_input *in, char *note, size_t nn)
{
    const struct cli_fixed_points *fp = in->fp;
    fprintf(f, "index,gamma,multiplicity,stable,s1,s2\n");
    for (size_t k = 0; k < fp->count; k++)
        fprintf(f, "%zu,%.10g,%zu,%d,%.10g,%.10g\n", k + 1, fp->gamma[k], fp->mult[k],
                fp->stable[k], fp->proj[k * fp->kp], fp->proj[k * fp->kp + 1]);
    return 0;
}

static int tap_states_csv(FILE *f, const struct cli_plot_input *in, char *note, size_t nn)
{
    cli_fp_track_put(f, in->fp_track);
    return 0;
}

static int data_projections_csv(FILE *f, const struct cli_plot_input *in, char *note, size_t nn)
{
    fprintf(f, "s1,s2\n");
    for (size_t k = 0; k < in->n_data_proj; k++)
        fprintf(f, "%.8g,%.8g\n", in->data_proj[2 * k], in->data_proj[2 * k + 1]);
    return 0;
}

/* The CSV columns (4...) of the PLOT_MODES largest tracked modes at the
 * end into cols; their number, or 0 with note. */
static size_t largest_modes(const rbm_mode_tracker *tr, size_t cols[PLOT_MODES], char *note,
                            size_t nn)
{
    size_t nm = rbm_mode_tracker_mode_count(tr);
    double last[TRACK_MODES];
    size_t order[TRACK_MODES];
    if (nm > TRACK_MODES)
        nm = TRACK_MODES;
    if (rbm_mode_tracker_get_record(tr, rbm_mode_tracker_record_count(tr) - 1, NULL, last, nm, NULL,
                                    NULL) != RBM_OK) {
        snprintf(note, nn, "cannot read the spectrum history");
        return 0;
    }
    for (size_t i = 0; i < nm; i++)
        order[i] = i;
    for (size_t i = 0; i < nm; i++) /* selection sort, descending */
        for (size_t j = i + 1; j < nm; j++)
            if (last[order[j]] > last[order[i]]) {
                size_t t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
    size_t np = nm < PLOT_MODES ? nm : PLOT_MODES;
    for (size_t i = 0; i < np; i++)
        cols[i] = order[i] + 4;
    return np;
}

static void script_header(FILE *f)
{
    fprintf(f, "# Written by 'rbm train' (librbm %s); run 'gnuplot plots.gp' in this directory.\n",
            rbm_version_string());
    fprintf(f, "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
               "    set terminal pngcairo size 1000,650 enhanced font \"sans,11\"\n"
               "} else {\n"
               "    set terminal png size 1000,650\n"
               "}\n"
               "set datafile separator \",\"\n"
               "set grid lc rgb \"#dddddd\"\n"
               "# ten distinguishable colours for the modes\n"
               "array C[10] = [\"#1f77b4\", \"#ff7f0e\", \"#2ca02c\", \"#d62728\", \"#9467bd\", "
               "\"#8c564b\", \"#e377c2\", \"#7f7f7f\", \"#bcbd22\", \"#17becf\"]\n"
               "do for [i=1:10] { set linetype i lc rgb C[i] lw 2 }\n");
}

/* spectrum.png: the singular values over training with the bulk edge, and
 * the modes outside the bulk (and the significant ones, when the tracker
 * has a census). 0, or -1 with note. */
static int script_spectrum(FILE *f, const struct cli_plot_input *in, char *note, size_t nn)
{
    size_t cols[PLOT_MODES], n_sig;
    size_t np = largest_modes(in->tracker, cols, note, nn);
    if (np == 0)
        return -1;
    int census = rbm_mode_tracker_get_significant(in->tracker, 0, &n_sig) == RBM_OK;
    fprintf(f, "cols = \"");
    for (size_t i = 0; i < np; i++)
        fprintf(f, "%s%zu", i ? " " : "", cols[i]);
    fprintf(f, "\"\n");
    fprintf(f,
            "\n# singular values of W over training (spectrum.csv: step,edge,n_outside,w0,...)\n"
            "bpe = %zu.0\n"
            "set output \"spectrum.png\"\n"
            "set multiplot layout 2,1 title \"%s\" font \",13\"\n"
            "set size 1,0.68; set origin 0,0.30\n"
            "set lmargin 10; set rmargin 22\n"
            "set title \"Singular values of W during training (the %zu largest at the end, "
            "followed by identity)\"\n"
            "set xlabel \"\"\n"
            "set ylabel \"singular value w_{/Symbol a} (log scale)\"\n"
            "set logscale y\n"
            "set key outside right top title \"rank at the end\"\n"
            "plot for [i=1:words(cols)] \"spectrum.csv\" skip 1 using "
            "($1/bpe):(column(int(word(cols, i)))) "
            "with %s lw 2 title sprintf(\"w_{%%d}\", i), \\\n"
            "     \"spectrum.csv\" skip 1 using ($1/bpe):2 with lines lw 3 dt 2 lc rgb \"black\" "
            "title \"bulk edge\"\n"
            "set size 1,0.30; set origin 0,0\n"
            "set title \"Modes outside the Marchenko-Pastur bulk%s\"\n"
            "set xlabel \"epoch\"\n"
            "unset logscale y\n"
            "set ylabel \"count\"\n"
            "set yrange [0:*]\n"
            "set key %s\n"
            "plot \"spectrum.csv\" skip 1 using ($1/bpe):3 with steps lw 2 lc rgb \"#c0392b\" "
            "title \"outside the bulk\"",
            in->batches_per_epoch ? in->batches_per_epoch : (size_t)1, in->title ? in->title : "",
            np,
            rbm_mode_tracker_record_count(in->tracker) <= 20 ? "linespoints pt 7 ps 0.7" : "lines",
            census ? " and significant modes (census, docs/spectral.md)" : "",
            census || has_tap_states(in) ? "outside right top title \"\"" : "off");
    /* the census column, after step, edge, n_outside and the K modes */
    if (census)
        fprintf(f, ", \\\n     \"spectrum.csv\" skip 1 using ($1/bpe):%zu with steps lw 2 "
                   "lc rgb \"#2471a3\" title \"significant\"",
                rbm_mode_tracker_mode_count(in->tracker) + 4);
    /* the papers' figure: the number of TAP states over training */
    if (has_tap_states(in))
        fprintf(f, ", \\\n     \"tap_states.csv\" skip 1 using ($1/bpe):2 with steps lw 2 "
                   "lc rgb \"#27ae60\" title \"TAP states\"");
    fprintf(f, "\nunset multiplot\n"
               "set yrange [*:*]; set lmargin -1; set rmargin -1; set key title \"\"\n");
    return 0;
}

/* fixed_points.png: the fixed points and the data on the first two modes. */
static void script_fixed_points(FILE *f, const struct cli_fixed_points *fp)
{
    const char *mname = fp->method == RBM_MF_NAIVE  ? "Naive mean-field"
                        : fp->method == RBM_MF_TAP3 ? "TAP3"
                                                    : "TAP2";
    fprintf(f,
            "\n# TAP fixed points and data projected on the first two modes of W\n"
            "set output \"fixed_points.png\"\n"
            "set size square\n"
            "set title \"%s fixed points of the trained machine (%zu distinct, from %zu starts)\\n"
            "and the data, projected on the first two left singular vectors of W\"\n"
            "set xlabel \"s_1 = u^1 . v\"\n"
            "set ylabel \"s_2 = u^2 . v\"\n"
            "set key outside right top\n"
            "plot \"data_projections.csv\" skip 1 using 1:2 with points pt 7 ps 0.3 "
            "lc rgb \"#b0b0b0\" title \"data rows\", \\\n"
            "     \"fixed_points.csv\" skip 1 using ($4==1 ? $5 : 1/0):6 with points pt 7 ps 2.2 "
            "lc rgb \"#c0392b\" title \"stable fixed point\", \\\n"
            "     \"fixed_points.csv\" skip 1 using ($4==0 ? $5 : 1/0):6 with points pt 6 ps 2.2 "
            "lw 2 lc rgb \"#2471a3\" title \"unstable fixed point\", \\\n"
            "     \"fixed_points.csv\" skip 1 using 5:6:(sprintf(\"%%d\", $3)) with labels "
            "offset 1.6,1.0 font \",9\" title \"(number: starts reaching it)\"\n",
            mname, fp->count, fp->n_random + fp->n_data);
}

/* plots.gp: the header, then the script of each plot there is data for. */
static int gnuplot_script(FILE *f, const struct cli_plot_input *in, char *note, size_t nn)
{
    script_header(f);
    if (has_spectrum(in) && script_spectrum(f, in, note, nn) != 0)
        return -1;
    if (has_fixed_points(in))
        script_fixed_points(f, in->fp);
    return 0;
}

/* Run gnuplot on plots.gp and list the non-empty PNGs it wrote. */
static int make_pngs(const char *dir, int have_spec, int have_fp, char pngs[2][64],
                     size_t *n_png, char *note, size_t nn)
{
    int g = cli_run_gnuplot(dir, "plots.gp");
    if (g == 127) {
        snprintf(note, nn, "skipped: gnuplot not found (Debian package gnuplot-nox); the data "
                           "and plots.gp are in %s",
                 dir);
        return -1;
    }
    if (g != 0) {
        snprintf(note, nn, "gnuplot failed (exit %d), see %s/gnuplot.log", g, dir);
        return -1;
    }
    const char *names[2] = {have_spec ? "spectrum.png" : NULL, have_fp ? "fixed_points.png" : NULL};
    for (int i = 0; i < 2; i++) {
        if (!names[i])
            continue;
        char *q = cli_path_join(dir, names[i]);
        struct stat sb;
        if (q && stat(q, &sb) == 0 && sb.st_size > 0)
            snprintf(pngs[(*n_png)++], 64, "%s", names[i]);
        free(q);
    }
    if (*n_png == 0) {
        snprintf(note, nn, "gnuplot wrote no PNG, see %s/gnuplot.log", dir);
        return -1;
    }
    return 0;
}

int cli_write_plots(const char *dir, const struct cli_plot_input *in, char pngs[2][64],
                    size_t *n_png, char *note, size_t nn)
{
    *n_png = 0;
    if (cli_make_dir(dir, note, nn) != 0)
        return -1;
    int have_spec = has_spectrum(in), have_fp = has_fixed_points(in);
    if (!have_spec && !have_fp) {
        snprintf(note, nn, "nothing to plot");
        return -1;
    }
    if (have_spec) {
        char *p = cli_path_join(dir, "spectrum.csv");
        int bad = !p || rbm_mode_tracker_write_csv(in->tracker, p) != RBM_OK;
        if (bad)
            snprintf(note, nn, "cannot write '%s'", p ? p : "spectrum.csv");
        free(p);
        if (bad)
            return -1;
    }
    if (has_tap_states(in) &&
        write_plot_file(dir, "tap_states.csv", tap_states_csv, in, note, nn) != 0)
        return -1;
    if (have_fp && (write_plot_file(dir, "fixed_points.csv", fixed_points_csv, in, note, nn) != 0 ||
                    write_plot_file(dir, "data_projections.csv", data_projections_csv, in, note,
                                    nn) != 0))
        return -1;
    if (write_plot_file(dir, "plots.gp", gnuplot_script, in, note, nn) != 0)
        return -1;
    return make_pngs(dir, have_spec, have_fp, pngs, n_png, note, nn);
}

/* ---- the PNG grid of samples ---- */

void cli_grid_layout(struct cli_grid *g, size_t n, size_t h, size_t w)
{
    g->img_h = h;
    g->img_w = w;
    size_t c = (size_t)ceil(sqrt((double)n));
    while (c > 1 && (c - 1) * (c - 1) >= n)
        c--;
    while (c * c < n)
        c++;
    g->cols = c;
    g->rows = (n + c - 1) / c;
    g->width = g->cols * (w + 1) + 1;
    g->height = g->rows * (h + 1) + 1;
}

/* Pixel row y of the grid: the images' rows mapped from [lo, hi] to 0..255
 * between borders of level 128. */
static void grid_row(unsigned char *row, size_t y, const double *means, size_t n, double lo,
                     double hi, const struct cli_grid *g)
{
    size_t nv = g->img_h * g->img_w;
    memset(row, 128, g->width);
    size_t ty = y / (g->img_h + 1), iy = y % (g->img_h + 1);
    if (iy == 0)
        return;
    for (size_t tx = 0; tx < g->cols; tx++) {
        size_t s = ty * g->cols + tx;
        if (s >= n)
            break;
        const double *img = means + s * nv + (iy - 1) * g->img_w;
        unsigned char *px = row + tx * (g->img_w + 1) + 1;
        for (size_t x = 0; x < g->img_w; x++) {
            double t = (img[x] - lo) / (hi - lo);
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            px[x] = (unsigned char)lround(255.0 * t);
        }
    }
}

/* The libpng part of cli_write_png_grid (no local changes after setjmp). */
static int png_tiles(FILE *f, const char *path, const double *means, size_t n, double lo,
                     double hi, const struct cli_grid *g, unsigned char *row)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, NULL);
        cli_errorf("cannot write the PNG '%s': libpng initialisation failed", path);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        cli_errorf("cannot write the PNG '%s': libpng error", path);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)g->width, (png_uint_32)g->height, 8, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (size_t y = 0; y < g->height; y++) {
        grid_row(row, y, means, n, lo, hi, g);
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 0;
}

int cli_write_png_grid(FILE *f, const char *path, const double *means, size_t n,
                       rbm_unit_kind kind, const struct cli_grid *g)
{
    size_t nv = g->img_h * g->img_w;
    double lo = 0, hi = 1;
    if (kind == RBM_UNIT_ISING) {
        lo = -1;
        hi = 1;
    } else if (kind == RBM_UNIT_GAUSSIAN) {
        lo = INFINITY;
        hi = -INFINITY;
        for (size_t i = 0; i < n * nv; i++) {
            if (means[i] < lo)
                lo = means[i];
            if (means[i] > hi)
                hi = means[i];
        }
        if (!(hi > lo))
            hi = lo + 1;
    }
    unsigned char *row = malloc(g->width);
    if (!row) {
        cli_errorf("out of memory for a %zu-pixel row", g->width);
        return -1;
    }
    int rc = png_tiles(f, path, means, n, lo, hi, g, row);
    free(row);
    return rc;
}
