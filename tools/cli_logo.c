/* cli_logo.c — the modes of a Potts machine in train's report
 * (docs/potts.md, "Spectral view"): for each leading mode alpha of W (in
 * the zero-sum gauge) the per-site norms ||u^alpha_i|| and the sites that
 * carry it, and as plots site_norms.png (the norms along the sequence) and
 * logos.png (sequence logos: at each of the sites with the largest norms,
 * the letters of the states stacked with heights |u^alpha_{i,c}|, positive
 * values above the axis and negative ones below), drawn by matplotlib from
 * CSV files and a script written into the plots directory. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOGO_MODES 4  /* modes described and drawn */
#define LOGO_SITES 30 /* sites of a logo: those of largest norm */
#define TOP_SITES 5   /* sites named per mode in the text */

struct potts_modes {
    size_t n_sites, q, k; /* k modes */
    double *norms;        /* k x N */
    double *weights;      /* k x N x q */
    char symbols[256];    /* state symbols ('0'.. when the data has none) */
};

static void modes_free(struct potts_modes *pm)
{
    free(pm->norms);
    free(pm->weights);
}

/* The norms and per-state weights of the first k modes. 0, or -1. */
static int read_modes(const rbm_svd *svd, const rbm_dataset *data, size_t k,
                      struct potts_modes *pm)
{
    memset(pm, 0, sizeof *pm);
    if (rbm_svd_site_shape(svd, &pm->n_sites, &pm->q) != RBM_OK || pm->q < 2 || pm->q > 255)
        return -1;
    size_t nq = pm->n_sites * pm->q;
    pm->k = k;
    pm->norms = malloc(k * pm->n_sites * sizeof *pm->norms);
    pm->weights = malloc(k * nq * sizeof *pm->weights);
    if (!pm->norms || !pm->weights ||
        rbm_svd_site_norms(svd, k, pm->norms, k * pm->n_sites) != RBM_OK)
        return -1;
    for (size_t a = 0; a < k; a++)
        if (rbm_svd_site_weights(svd, a, pm->weights + a * nq, nq) != RBM_OK)
            return -1;
    const char *al = data ? rbm_dataset_alphabet(data) : NULL;
    for (size_t c = 0; c < pm->q; c++)
        pm->symbols[c] = al && strlen(al) == pm->q ? al[c] : (char)(c < 10 ? '0' + c : 'a' + c - 10);
    pm->symbols[pm->q] = '\0';
    return 0;
}

/* Sites ordered by decreasing norm in mode a (ties by site). */
static const double *sort_norms;
static int cmp_sites(const void *x, const void *y)
{
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    if (sort_norms[i] != sort_norms[j])
        return sort_norms[i] < sort_norms[j] ? 1 : -1;
    return i < j ? -1 : i > j;
}

static void order_sites(const struct potts_modes *pm, size_t a, size_t *order)
{
    for (size_t i = 0; i < pm->n_sites; i++)
        order[i] = i;
    sort_norms = pm->norms + a * pm->n_sites;
    qsort(order, pm->n_sites, sizeof *order, cmp_sites);
}

/* One line per mode: the effective number of sites 1 / sum_i n_i^4 (the
 * norms n_i have sum_i n_i^2 = 1) and the sites of largest norm, each with
 * its state of largest |u_ic| and the sign of that weight. */
static void print_modes(const struct potts_modes *pm, const double *w, size_t *order)
{
    printf("modes       per-site norms ||u_a,i|| (docs/potts.md): effective sites 1/sum n^4, "
           "then the sites (1-based) of largest norm with their strongest state\n");
    for (size_t a = 0; a < pm->k; a++) {
        const double *n = pm->norms + a * pm->n_sites;
        double s4 = 0;
        for (size_t i = 0; i < pm->n_sites; i++)
            s4 += n[i] * n[i] * n[i] * n[i];
        order_sites(pm, a, order);
        printf("            mode %zu (w %.3f): %.1f of %zu sites;", a + 1, w[a],
               s4 > 0 ? 1 / s4 : 0.0, pm->n_sites);
        for (size_t t = 0; t < TOP_SITES && t < pm->n_sites; t++) {
            size_t i = order[t], best = 0;
            const double *u = pm->weights + (a * pm->n_sites + i) * pm->q;
            for (size_t c = 1; c < pm->q; c++)
                if (fabs(u[c]) > fabs(u[best]))
                    best = c;
            printf(" %zu %c%c %.2f", i + 1, u[best] >= 0 ? '+' : '-', pm->symbols[best], n[i]);
        }
        printf("\n");
    }
}

/* ---- plots ---- */

static FILE *open_in(const char *dir, const char *name, char **path)
{
    *path = cli_path_join(dir, name);
    return *path ? fopen(*path, "w") : NULL;
}

/* 0, or -1 with note (f closed). */
static int close_in(FILE *f, const char *path, char *note, size_t nn)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        snprintf(note, nn, "cannot write '%s'", path);
        return -1;
    }
    return 0;
}

/* site_norms.csv: site,mode1,...; logo.csv: mode,site,state,weight. */
static int write_csv(const char *dir, const struct potts_modes *pm, char *note, size_t nn)
{
    char *p1 = NULL, *p2 = NULL;
    FILE *f = open_in(dir, "site_norms.csv", &p1);
    int rc = -1;
    if (!f) {
        snprintf(note, nn, "cannot write '%s': %s", p1 ? p1 : "site_norms.csv", strerror(errno));
        goto done;
    }
    fprintf(f, "site");
    for (size_t a = 0; a < pm->k; a++)
        fprintf(f, ",mode%zu", a + 1);
    fprintf(f, "\n");
    for (size_t i = 0; i < pm->n_sites; i++) {
        fprintf(f, "%zu", i + 1);
        for (size_t a = 0; a < pm->k; a++)
            fprintf(f, ",%.8g", pm->norms[a * pm->n_sites + i]);
        fprintf(f, "\n");
    }
    if (close_in(f, p1, note, nn) != 0)
        goto done;
    if (!(f = open_in(dir, "logo.csv", &p2))) {
        snprintf(note, nn, "cannot write '%s': %s", p2 ? p2 : "logo.csv", strerror(errno));
        goto done;
    }
    fprintf(f, "mode,site,state,weight\n");
    for (size_t a = 0; a < pm->k; a++)
        for (size_t i = 0; i < pm->n_sites; i++)
            for (size_t c = 0; c < pm->q; c++)
                fprintf(f, "%zu,%zu,%zu,%.8g\n", a + 1, i + 1, c,
                        pm->weights[(a * pm->n_sites + i) * pm->q + c]);
    rc = close_in(f, p2, note, nn);
done:
    free(p1);
    free(p2);
    return rc;
}

/* The matplotlib script (in pieces: C compilers need not take string
 * literals over 4095 bytes). */
static const char *const SCRIPT_BODY[] = {
    "import csv\n"
    "import matplotlib\n"
    "matplotlib.use(\"Agg\")\n"
    "import matplotlib.pyplot as plt\n"
    "from matplotlib.font_manager import FontProperties\n"
    "from matplotlib.patches import PathPatch\n"
    "from matplotlib.textpath import TextPath\n"
    "from matplotlib.transforms import Affine2D\n"
    "\n"
    "with open(\"site_norms.csv\") as f:\n"
    "    rows = list(csv.reader(f))\n"
    "modes = len(rows[0]) - 1\n"
    "sites = [int(r[0]) for r in rows[1:]]\n"
    "norms = [[float(r[a + 1]) for r in rows[1:]] for a in range(modes)]\n"
    "weights = {}\n"
    "with open(\"logo.csv\") as f:\n"
    "    for r in csv.DictReader(f):\n"
    "        weights.setdefault((int(r[\"mode\"]), int(r[\"site\"])), []).append(\n"
    "            (int(r[\"state\"]), float(r[\"weight\"])))\n"
    "\n"
    "# colours: amino acids by chemistry, nucleotides as usual, the gap grey\n"
    "CHEM = {}\n"
    "for group, colour in ((\"GSTYC\", \"#109648\"), (\"QN\", \"#8e44ad\"), (\"KRH\", \"#1f4fd0\"),\n"
    "                      (\"DE\", \"#d62728\"), (\"AVLIPWFM\", \"#222222\")):\n"
    "    for ch in group:\n"
    "        CHEM[ch] = colour\n"
    "NUC = {\"A\": \"#109648\", \"C\": \"#1f4fd0\", \"G\": \"#f39c12\", \"T\": \"#d62728\",\n"
    "       \"U\": \"#d62728\"}\n"
    "PALETTE = plt.get_cmap(\"tab20\")\n"
    "def colour(c):\n"
    "    ch = SYMBOLS[c]\n"
    "    if ch in \"-.\":\n"
    "        return \"#9a9a9a\"\n"
    "    table = NUC if len(SYMBOLS) <= 6 else CHEM\n"
    "    return table.get(ch.upper(), PALETTE(c % 20))\n"
    "\n"
    "FONT = FontProperties(family=\"DejaVu Sans\", weight=\"bold\")\n"
    "def letter(ax, c, x, y, height):\n"
    "    path = TextPath((0, 0), SYMBOLS[c], size=1, prop=FONT)\n"
    "    box = path.get_extents()\n"
    "    if box.width <= 0 or box.height <= 0:\n"
    "        return\n"
    "    t = (Affine2D().translate(-box.x0, -box.y0)\n"
    "         .scale(0.86 / box.width, height / box.height).translate(x - 0.43, y))\n"
    "    ax.add_patch(PathPatch(t.transform_path(path), lw=0, fc=colour(c)))\n"
    "\n",
    "# site_norms.png: the norms of each mode along the sequence\n"
    "fig, axes = plt.subplots(modes, 1, figsize=(max(8, 0.06 * len(sites) + 3), 1.7 * modes + 1.2),\n"
    "                         sharex=True, squeeze=False)\n"
    "for a in range(modes):\n"
    "    ax = axes[a][0]\n"
    "    ax.bar(sites, norms[a], width=0.85, color=\"#2471a3\")\n"
    "    ax.set_ylabel(\"mode %d\\n||u_i||\" % (a + 1))\n"
    "    ax.set_xlim(0.3, len(sites) + 0.7)\n"
    "    ax.grid(axis=\"y\", color=\"#dddddd\")\n"
    "axes[-1][0].set_xlabel(\"site\")\n"
    "fig.suptitle(TITLE + \"\\nper-site norms of the leading modes of W (zero-sum gauge)\")\n"
    "fig.tight_layout()\n"
    "fig.savefig(\"site_norms.png\", dpi=110)\n"
    "plt.close(fig)\n"
    "\n"
    "# logos.png: each mode's largest sites, letters sized by |u_ic|\n"
    "n_show = min(SITES, len(sites))\n"
    "fig, axes = plt.subplots(modes, 1, figsize=(0.42 * n_show + 2.2, 2.5 * modes + 1.0),\n"
    "                         squeeze=False)\n"
    "for a in range(modes):\n"
    "    ax = axes[a][0]\n"
    "    top = sorted(range(len(sites)), key=lambda i: -norms[a][i])[:n_show]\n"
    "    top.sort()\n"
    "    lo = hi = 0.0\n"
    "    for x, i in enumerate(top):\n"
    "        cell = weights[(a + 1, sites[i])]\n"
    "        biggest = max(abs(w) for _, w in cell) or 1.0\n"
    "        # the strongest states: at most 5 a side, at least 15% of the largest\n"
    "        ranked = sorted(cell, key=lambda t: -abs(t[1]))\n"
    "        shown = [t for t in ranked if abs(t[1]) >= 0.15 * biggest]\n"
    "        shown = ([t for t in shown if t[1] > 0][:5] +\n"
    "                 [t for t in shown if t[1] < 0][:5])\n"
    "        up, down = 0.0, 0.0\n"
    "        for c, w in sorted((t for t in shown if t[1] > 0), key=lambda t: t[1]):\n"
    "            letter(ax, c, x, up, w)\n"
    "            up += w\n"
    "        for c, w in sorted((t for t in shown if t[1] < 0), key=lambda t: -t[1]):\n"
    "            letter(ax, c, x, down + w, -w)\n"
    "            down += w\n"
    "        hi, lo = max(hi, up), min(lo, down)\n"
    "    ax.axhline(0, color=\"black\", lw=0.8)\n"
    "    ax.set_xlim(-0.6, n_show - 0.4)\n"
    "    pad = 0.05 * (hi - lo or 1.0)\n"
    "    ax.set_ylim(lo - pad, hi + pad)\n"
    "    ax.set_xticks(range(n_show))\n"
    "    ax.set_xticklabels([str(sites[i]) for i in top], fontsize=8, rotation=90)\n"
    "    ax.set_ylabel(\"mode %d\\nu_a(i, c)\" % (a + 1))\n"
    "    ax.grid(axis=\"y\", color=\"#eeeeee\")\n"
    "axes[-1][0].set_xlabel(\"site (the %d of largest norm in each mode, in sequence order)\" % n_show)\n"
    "fig.suptitle(TITLE + \"\\nsequence logos of the leading modes: letters sized by the weight \"\n"
    "             \"of the state (above: raises the mode's projection, below: lowers it)\")\n"
    "fig.tight_layout()\n"
    "fig.savefig(\"logos.png\", dpi=110)\n"
    "plt.close(fig)\n",
};

/* logos.py: the settings, then the body. */
static int write_script(const char *dir, const struct potts_modes *pm, const char *title,
                        char *note, size_t nn)
{
    char *p = NULL;
    FILE *f = open_in(dir, "logos.py", &p);
    if (!f) {
        snprintf(note, nn, "cannot write '%s': %s", p ? p : "logos.py", strerror(errno));
        free(p);
        return -1;
    }
    fprintf(f, "# Written by 'rbm train' (librbm %s); run 'python3 logos.py' in this directory.\n",
            rbm_version_string());
    fprintf(f, "TITLE = \"");
    for (const char *t = title ? title : ""; *t; t++) /* printable ASCII, no quote or escape */
        fputc(*t >= 0x20 && *t < 0x7f && *t != '"' && *t != '\\' ? *t : ' ', f);
    fprintf(f, "\"\nSITES = %d\nSYMBOLS = \"\".join(chr(c) for c in [", LOGO_SITES);
    for (size_t c = 0; c < pm->q; c++)
        fprintf(f, "%s%d", c ? ", " : "", (unsigned char)pm->symbols[c]);
    fprintf(f, "])\n");
    for (size_t i = 0; i < ARRAY_LEN(SCRIPT_BODY); i++)
        fputs(SCRIPT_BODY[i], f);
    int rc = close_in(f, p, note, nn);
    free(p);
    return rc;
}

/* Run the script; the PNGs it wrote. 0, or -1 with note. */
static int make_logos(const char *dir, char *note, size_t nn)
{
    /* Debian's python3 (matplotlib is python3-matplotlib) before one on PATH */
    const char *py = getenv("RBM_PYTHON");
    if (!py || !*py)
        py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    int g = cli_run_plotter(dir, py, "logos.py", "logos.log");
    if (g == 127) {
        snprintf(note, nn, "skipped: %s not found; the data and logos.py are in %s", py, dir);
        return -1;
    }
    if (g != 0) {
        snprintf(note, nn, "python3 logos.py failed (exit %d; matplotlib missing?), see %s/logos.log",
                 g, dir);
        return -1;
    }
    static const char *const names[] = {"site_norms.png", "logos.png"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        char *q = cli_path_join(dir, names[i]);
        struct stat sb;
        int ok = q && stat(q, &sb) == 0 && sb.st_size > 0;
        free(q);
        if (!ok) {
            snprintf(note, nn, "logos.py wrote no %s, see %s/logos.log", names[i], dir);
            return -1;
        }
    }
    return 0;
}

static void plot_modes(const struct cli_report_input *in, const struct potts_modes *pm)
{
    char note[1024];
    if (cli_make_dir(in->plots_dir, note, sizeof note) == 0 &&
        write_csv(in->plots_dir, pm, note, sizeof note) == 0 &&
        write_script(in->plots_dir, pm, in->title, note, sizeof note) == 0 &&
        make_logos(in->plots_dir, note, sizeof note) == 0)
        printf("plots       %s/site_norms.png, %s/logos.png (matplotlib; data and logos.py "
               "beside them)\n",
               in->plots_dir, in->plots_dir);
    else
        printf("plots       - (%s)\n", note);
}

void cli_potts_modes(rbm_context *ctx, const struct cli_report_input *in, const rbm_svd *svd,
                     const struct cli_spectrum *si)
{
    size_t k = si->r < LOGO_MODES ? si->r : LOGO_MODES;
    struct potts_modes pm;
    size_t *order = NULL;
    if (k == 0 || read_modes(svd, in->data, k, &pm) != 0 ||
        !(order = malloc(pm.n_sites * sizeof *order))) {
        printf("modes       - (cannot read the per-site view of the modes: %s)\n",
               rbm_context_last_error(ctx));
        if (k > 0)
            modes_free(&pm);
        return;
    }
    print_modes(&pm, si->w, order);
    free(order);
    if (in->plots_dir)
        plot_modes(in, &pm);
    modes_free(&pm);
}
