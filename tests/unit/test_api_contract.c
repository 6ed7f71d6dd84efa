/* Contract tests: two promises that hold for every public function
 * (docs/api-conventions.md, "Handles and lifetimes" and "Status codes and
 * errors"), checked function by function from tables.
 *
 *   1. Constructors set *out = NULL on failure ("on failure *out is NULL"),
 *      whatever the reason: a NULL parent handle (context, machine, dataset,
 *      solver), or a valid parent with another bad argument (NULL path, zero
 *      size, unknown enum, missing file, allocation failure). Each row
 *      presets *out to a non-NULL sentinel and checks the status and that
 *      *out was overwritten with NULL.
 *   2. A NULL required pointer (an output pointer, a caller buffer, a
 *      constructor's out) passed with a valid handle gives the documented
 *      error (RBM_ERR_NULL) and leaves a non-empty detail in the handle's
 *      context, with rbm_context_last_status() matching the return value
 *      ("every failing call that has a context stores a one-line, specific
 *      message", context.h). Every such detail the library writes today
 *      says "NULL" ("out is NULL", "weight buffer is NULL"), so that word is
 *      required too; the argument's spelling varies and is not checked.
 *      Arguments a header documents as optional ("may be NULL") are not
 *      tested here.
 *   3. Functions without a handle (parsers, pure formulas, the context
 *      constructors) give RBM_ERR_NULL for a NULL required pointer; there is
 *      no context to hold a detail.
 *
 * Every row runs in a forked child on a copy of one fixture, so a row that
 * crashes (a NULL dereference) is reported as such and cannot hide the other
 * rows, and no row sees the effects of another. Each table runs all its rows,
 * prints one "# name: ..." line per failing row and fails once at the end
 * with the count. Set RBM_CONTRACT_NOFORK=1 to run the rows in-process (for a
 * debugger), RBM_CONTRACT_VERBOSE=1 to print every row's outcome and detail.
 * The checks do not depend on the wording of the messages. */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---------------------------------------------------------------------- */
/* fixture                                                                 */
/* ---------------------------------------------------------------------- */

#define NV 6
#define NH 4
#define ROWS 20
#define BATCH 5
#define CHAINS 3

#define BERN RBM_UNIT_BERNOULLI
#define GAUSS RBM_UNIT_GAUSSIAN

/* The value every row presets *out to: not NULL, never a real handle. */
static char sentinel_object;
#define SENTINEL ((void *)&sentinel_object)

typedef struct fixture {
    rbm_context *ctx;  /* allocator below: fails while fail_alloc is set */
    int fail_alloc;
    char dir[256];
    char csv[320], idx[320], npy[320]; /* the 20 x 6 dataset as files */
    char model[320], ckpt[320];        /* rbm_machine_save / checkpoint of trainer */
    char missing_csv[320], missing_idx[320], missing_npy[320], missing_model[320];
    char unknown_ext[320];             /* *.txt: no loader (not created) */
    rbm_machine *bern;                 /* 6 x 4 Bernoulli-Bernoulli, W ~ N(0, 0.1^2) */
    rbm_machine *gauss;                /* 6 x 4 Gauss-Gauss, W ~ N(0, 0.05^2) */
    rbm_dataset *data;                 /* 20 x 6, values in {0, 1} */
    rbm_rng *rng;
    rbm_gradient *grad;                /* shaped like bern */
    rbm_batch_iter *iter;              /* batches of 5 rows of data */
    rbm_sampler *sampler;              /* 3 chains of bern */
    rbm_estimator *est;                /* CD-1 on bern, max_batch 5 */
    rbm_trainer *trainer;              /* bern on data, batch 5, one step done */
    rbm_mf *mf;                        /* naive MF on bern */
    rbm_mf_points *points;             /* fixed points of mf (count >= 1) */
    rbm_svd *svd;                      /* of bern */
    rbm_mode_tracker *tracker;         /* 2 modes of bern, one record */
    rbm_ensemble *ens;                 /* defaults (K = 1) */
    rbm_ais *ais;                      /* of bern */
    double v[NV], h[NH];               /* one visible / hidden state */
    double mv[NV], mh[NH];             /* magnetisations 0.5 */
    double C[NV * NV];                 /* 0.5 I: a valid covariance */
    double lambda[1], x1[1], w1[1];    /* one eigenvalue / grid point */
    uint8_t state[RBM_RNG_STATE_BYTES];/* a valid rng state */
    double buf[256];                   /* a large enough output buffer */
    size_t sbuf;
    rbm_unit_kind kind;
    rbm_estimator_kind ekind;
    rbm_optimizer opt;
    rbm_mf_method method;
    rbm_component_law law;
    double d;
} fixture;

static void *fx_alloc(void *user, size_t size)
{
    fixture *f = user;
    return f->fail_alloc ? NULL : malloc(size ? size : 1);
}

static void fx_free(void *user, void *p)
{
    (void)user;
    free(p);
}

static double data_value(size_t i, size_t j)
{
    return ((i * 7 + j * 3) % 5) < 2 ? 1.0 : 0.0;
}

static void join(char *dst, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(dst, cap, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

/* The dataset as CSV (with a header line), IDX (ubyte, 20 x 6) and NPY
 * (v1, '<f8', 20 x 6, little-endian bytes written explicitly). */
static void write_data_files(fixture *f)
{
    tbuf b = {0};
    const char *hdr = "a,b,c,d,e,f\n";
    tbuf_put(&b, hdr, strlen(hdr));
    for (size_t i = 0; i < ROWS; i++)
        for (size_t j = 0; j < NV; j++)
            tbuf_put(&b, data_value(i, j) ? "1" : "0", 1), tbuf_put(&b, j + 1 < NV ? "," : "\n", 1);
    write_file(f->csv, b.p, b.n);
    free(b.p);

    b = (tbuf){0};
    const unsigned char idx_hdr[12] = {0, 0, 0x08, 2, 0, 0, 0, ROWS, 0, 0, 0, NV};
    tbuf_put(&b, idx_hdr, sizeof idx_hdr);
    for (size_t i = 0; i < ROWS; i++)
        for (size_t j = 0; j < NV; j++) {
            unsigned char u = (unsigned char)data_value(i, j);
            tbuf_put(&b, &u, 1);
        }
    write_file(f->idx, b.p, b.n);
    free(b.p);

    b = (tbuf){0};
    char dict[128];
    int len = snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }",
                       ROWS, NV);
    while ((10 + len + 1) % 64 != 0)
        dict[len++] = ' ';
    dict[len++] = '\n';
    const unsigned char magic[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                     (unsigned char)(len & 0xff), (unsigned char)(len >> 8)};
    tbuf_put(&b, magic, sizeof magic);
    tbuf_put(&b, dict, (size_t)len);
    const unsigned char zero[8] = {0}, one[8] = {0, 0, 0, 0, 0, 0, 0xf0, 0x3f};
    for (size_t i = 0; i < ROWS; i++)
        for (size_t j = 0; j < NV; j++)
            tbuf_put(&b, data_value(i, j) ? one : zero, 8);
    write_file(f->npy, b.p, b.n);
    free(b.p);
}

#define FX_OK(call) RBM_OKAY(f->ctx, call)

static int setup(void **state)
{
    fixture *f = xzalloc(sizeof *f);
    FX_OK(rbm_context_new_with_allocator(fx_alloc, fx_free, f, &f->ctx));

    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/rbm_api_contract_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    join(f->csv, sizeof f->csv, f->dir, "data.csv");
    join(f->idx, sizeof f->idx, f->dir, "data.idx");
    join(f->npy, sizeof f->npy, f->dir, "data.npy");
    join(f->model, sizeof f->model, f->dir, "model.rbm");
    join(f->ckpt, sizeof f->ckpt, f->dir, "ckpt.rbm");
    join(f->missing_csv, sizeof f->missing_csv, f->dir, "missing.csv");
    join(f->missing_idx, sizeof f->missing_idx, f->dir, "missing.idx");
    join(f->missing_npy, sizeof f->missing_npy, f->dir, "missing.npy");
    join(f->missing_model, sizeof f->missing_model, f->dir, "missing.rbm");
    join(f->unknown_ext, sizeof f->unknown_ext, f->dir, "data.txt");
    write_data_files(f);

    double d[ROWS * NV];
    for (size_t i = 0; i < ROWS; i++)
        for (size_t j = 0; j < NV; j++)
            d[i * NV + j] = data_value(i, j);
    FX_OK(rbm_dataset_from_memory(f->ctx, d, RBM_DTYPE_FLOAT64, ROWS, NV, RBM_COPY, &f->data));
    FX_OK(rbm_machine_new(f->ctx, NV, NH, BERN, BERN, &f->bern));
    FX_OK(rbm_machine_init_normal(f->bern, 0.1, 1));
    FX_OK(rbm_machine_new(f->ctx, NV, NH, GAUSS, GAUSS, &f->gauss));
    FX_OK(rbm_machine_init_normal(f->gauss, 0.05, 2));
    FX_OK(rbm_machine_save(f->bern, f->model));

    FX_OK(rbm_rng_new(f->ctx, 3, &f->rng));
    FX_OK(rbm_rng_get_state(f->rng, f->state, sizeof f->state));
    FX_OK(rbm_gradient_new(f->bern, &f->grad));
    FX_OK(rbm_batch_iter_new(f->data, BATCH, RBM_BATCH_SHUFFLE, 4, &f->iter));
    FX_OK(rbm_sampler_new(f->bern, CHAINS, 5, &f->sampler));
    FX_OK(rbm_estimator_new(f->bern, RBM_ESTIMATOR_CD, BATCH, 6, &f->est));
    FX_OK(rbm_trainer_new(f->bern, f->data, BATCH, 7, &f->trainer));
    rbm_status st = rbm_trainer_step(f->trainer);
    assert_true(st == RBM_OK || st == RBM_DONE);
    FX_OK(rbm_trainer_save_checkpoint(f->trainer, f->ckpt));
    FX_OK(rbm_mf_new(f->bern, RBM_MF_NAIVE, &f->mf));
    FX_OK(rbm_mf_fixed_points_random(f->mf, 4, 8, &f->points));
    assert_true(rbm_mf_points_count(f->points) >= 1);
    FX_OK(rbm_svd_new(f->bern, &f->svd));
    FX_OK(rbm_mode_tracker_new(f->bern, 2, &f->tracker));
    FX_OK(rbm_mode_tracker_record(f->tracker, 0));
    FX_OK(rbm_ensemble_new(f->ctx, &f->ens));
    FX_OK(rbm_ais_new(f->bern, 9, &f->ais));

    for (size_t i = 0; i < NV; i++) {
        f->v[i] = data_value(0, i);
        f->mv[i] = 0.5;
        f->C[i * NV + i] = 0.5;
    }
    for (size_t j = 0; j < NH; j++)
        f->h[j] = f->mh[j] = 0.5;
    f->lambda[0] = 2.0;
    f->x1[0] = 0.5;
    f->w1[0] = 0.5;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rbm_ais_free(f->ais);
    rbm_ensemble_free(f->ens);
    rbm_mode_tracker_free(f->tracker);
    rbm_svd_free(f->svd);
    rbm_mf_points_free(f->points);
    rbm_mf_free(f->mf);
    rbm_trainer_free(f->trainer);
    rbm_estimator_free(f->est);
    rbm_sampler_free(f->sampler);
    rbm_batch_iter_free(f->iter);
    rbm_gradient_free(f->grad);
    rbm_rng_free(f->rng);
    rbm_machine_free(f->gauss);
    rbm_machine_free(f->bern);
    rbm_dataset_free(f->data);
    rbm_context_free(f->ctx);
    const char *files[] = {f->csv, f->idx, f->npy, f->model, f->ckpt};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(files[i]);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* rows and the runner                                                     */
/* ---------------------------------------------------------------------- */

typedef struct row {
    const char *name;
    rbm_status (*call)(fixture *f, void **out);
    rbm_status expected;
} row;

typedef struct outcome {
    int crashed; /* the row's process died from signal `sig` */
    int sig;
    rbm_status st;
    void *out;
    rbm_status last_status;
    char detail[512];
} outcome;

static void run_here(fixture *f, const row *r, outcome *o)
{
    memset(o, 0, sizeof *o);
    void *out = SENTINEL;
    rbm_context_clear_error(f->ctx);
    o->st = r->call(f, &out);
    o->out = out;
    o->last_status = rbm_context_last_status(f->ctx);
    snprintf(o->detail, sizeof o->detail, "%s", rbm_context_last_error(f->ctx));
}

/* Run one row in a child process (see the header comment). */
static void run_row(fixture *f, const row *r, outcome *o)
{
    const char *nofork = getenv("RBM_CONTRACT_NOFORK");
    if (nofork && *nofork && strcmp(nofork, "0") != 0) {
        run_here(f, r, o);
        return;
    }
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* cmocka catches these signals and would carry on with its own test
         * list in this process: die from them instead */
        const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            signal(sigs[i], SIG_DFL);
        close(fd[0]);
        outcome c;
        run_here(f, r, &c);
        ssize_t w = write(fd[1], &c, sizeof c);
        _exit(w == (ssize_t)sizeof c ? 0 : 1);
    }
    close(fd[1]);
    memset(o, 0, sizeof *o);
    size_t got = 0;
    while (got < sizeof *o) {
        ssize_t n = read(fd[0], (char *)o + got, sizeof *o - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd[0]);
    int wst = 0;
    assert_int_equal(waitpid(pid, &wst, 0), pid);
    if (got != sizeof *o) {
        memset(o, 0, sizeof *o);
        o->crashed = 1;
        o->sig = WIFSIGNALED(wst) ? WTERMSIG(wst) : 0;
    }
}

typedef enum check_kind {
    CHECK_OUT_NULL, /* table 1: status and *out == NULL */
    CHECK_DETAIL,   /* table 2: status, non-empty detail, matching last_status */
    CHECK_STATUS    /* table 3: status only */
} check_kind;

static void run_table(fixture *f, const char *table, const row *rows, size_t n, check_kind kind)
{
    const char *v = getenv("RBM_CONTRACT_VERBOSE");
    int verbose = v && *v && strcmp(v, "0") != 0;
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        const row *r = &rows[i];
        outcome o;
        run_row(f, r, &o);
        if (o.crashed) {
            print_message("# %s: crashed (signal %d), expected %s\n", r->name, o.sig,
                          rbm_status_name(r->expected));
            failed++;
            continue;
        }
        if (verbose)
            print_message("# [%s] %s: %s, *out %p, last_status %s, detail \"%s\"\n",
                          table, r->name, rbm_status_name(o.st), o.out,
                          rbm_status_name(o.last_status), o.detail);
        int ok = o.st == r->expected;
        if (kind == CHECK_OUT_NULL)
            ok = ok && o.out == NULL;
        else if (kind == CHECK_DETAIL)
            ok = ok && o.detail[0] != '\0' && o.last_status == o.st &&
                 (r->expected != RBM_ERR_NULL || strstr(o.detail, "NULL"));
        if (ok)
            continue;
        failed++;
        if (kind == CHECK_OUT_NULL)
            print_message("# %s: got %s, *out = %p%s (expected %s, *out = NULL)\n", r->name,
                          rbm_status_name(o.st), o.out,
                          o.out == SENTINEL ? " (the sentinel: untouched)" : "",
                          rbm_status_name(r->expected));
        else if (kind == CHECK_DETAIL)
            print_message("# %s: got %s, last_status %s, detail \"%s\" (expected %s, a detail "
                          "saying NULL)\n",
                          r->name, rbm_status_name(o.st), rbm_status_name(o.last_status),
                          o.detail, rbm_status_name(r->expected));
        else
            print_message("# %s: got %s (expected %s)\n", r->name, rbm_status_name(o.st),
                          rbm_status_name(r->expected));
    }
    if (failed)
        fail_msg("%s: %zu of %zu rows failed (listed above)", table, failed, n);
}

/* A constructor row: p is the typed out (preset to the caller's sentinel),
 * `call` uses &p; an unexpected success is freed (never the sentinel). */
#define CTOR(fn, type, call, freefn)                                                           \
    static rbm_status fn(fixture *f, void **out)                                              \
    {                                                                                          \
        (void)f;                                                                               \
        type *p = *out;                                                                        \
        rbm_status st = (call);                                                                \
        *out = (void *)p;                                                                      \
        if (st == RBM_OK && p && (void *)p != SENTINEL)                                        \
            freefn(p);                                                                         \
        return st;                                                                             \
    }
/* The same with the context's allocator failing during the call. */
#define CTOR_NOMEM(fn, type, call, freefn)                                                     \
    static rbm_status fn(fixture *f, void **out)                                              \
    {                                                                                          \
        type *p = *out;                                                                        \
        f->fail_alloc = 1;                                                                     \
        rbm_status st = (call);                                                                \
        f->fail_alloc = 0;                                                                     \
        *out = (void *)p;                                                                      \
        if (st == RBM_OK && p && (void *)p != SENTINEL)                                        \
            freefn(p);                                                                         \
        return st;                                                                             \
    }
/* A row that only returns a status. */
#define CALL(fn, call)                                                                         \
    static rbm_status fn(fixture *f, void **out)                                              \
    {                                                                                          \
        (void)f;                                                                               \
        (void)out;                                                                             \
        return (call);                                                                         \
    }

/* rbm_trainer_load_checkpoint: *out is machine_out (which 0) or trainer_out
 * (which 1); the other one is preset to the sentinel too and checked by the
 * row of the other kind. */
static rbm_status load_ckpt(rbm_context *ctx, const char *path, const rbm_dataset *data,
                            void **out, int which)
{
    rbm_machine *m = which == 0 ? *out : SENTINEL;
    rbm_trainer *t = which == 1 ? *out : SENTINEL;
    rbm_status st = rbm_trainer_load_checkpoint(ctx, path, data, &m, &t);
    *out = which == 0 ? (void *)m : (void *)t;
    if (st == RBM_OK) {
        if ((void *)t != SENTINEL)
            rbm_trainer_free(t);
        if ((void *)m != SENTINEL)
            rbm_machine_free(m);
    }
    return st;
}

static void context_free_fn(rbm_context *ctx)
{
    rbm_context_free(ctx);
}

static void *never_alloc(void *user, size_t size)
{
    (void)user;
    (void)size;
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* table 1a: constructors with a NULL parent                               */
/* ---------------------------------------------------------------------- */

/* Every other argument is valid: the NULL parent is the only fault. */
CTOR(np_dataset_from_memory, rbm_dataset,
     rbm_dataset_from_memory(NULL, f->v, RBM_DTYPE_FLOAT64, 1, NV, RBM_COPY, &p), rbm_dataset_free)
CTOR(np_dataset_load_idx, rbm_dataset, rbm_dataset_load_idx(NULL, f->idx, &p), rbm_dataset_free)
CTOR(np_dataset_load_csv, rbm_dataset, rbm_dataset_load_csv(NULL, f->csv, &p), rbm_dataset_free)
CTOR(np_dataset_load_npy, rbm_dataset, rbm_dataset_load_npy(NULL, f->npy, &p), rbm_dataset_free)
CTOR(np_dataset_load, rbm_dataset, rbm_dataset_load(NULL, f->csv, &p), rbm_dataset_free)
CTOR(np_dataset_synthetic, rbm_dataset,
     rbm_dataset_synthetic(NULL, 10, 2, 2, NV, 0.1, BERN, 1, &p), rbm_dataset_free)
CTOR(np_dataset_transform, rbm_dataset,
     rbm_dataset_transform(NULL, RBM_TRANSFORM_BINARIZE, 0.5, &p), rbm_dataset_free)
CTOR(np_dataset_slice, rbm_dataset, rbm_dataset_slice(NULL, 0, 2, &p), rbm_dataset_free)
CTOR(np_batch_iter_new, rbm_batch_iter, rbm_batch_iter_new(NULL, BATCH, RBM_BATCH_SHUFFLE, 1, &p),
     rbm_batch_iter_free)
CTOR(np_machine_new, rbm_machine, rbm_machine_new(NULL, NV, NH, BERN, BERN, &p), rbm_machine_free)
CTOR(np_machine_clone, rbm_machine, rbm_machine_clone(NULL, &p), rbm_machine_free)
CTOR(np_machine_convert, rbm_machine, rbm_machine_convert(NULL, RBM_UNIT_ISING, &p, NULL),
     rbm_machine_free)
CTOR(np_machine_load, rbm_machine, rbm_machine_load(NULL, f->model, &p), rbm_machine_free)
CTOR(np_rng_new, rbm_rng, rbm_rng_new(NULL, 1, &p), rbm_rng_free)
CTOR(np_gradient_new, rbm_gradient, rbm_gradient_new(NULL, &p), rbm_gradient_free)
CTOR(np_estimator_new, rbm_estimator,
     rbm_estimator_new(NULL, RBM_ESTIMATOR_CD, BATCH, 1, &p), rbm_estimator_free)
CTOR(np_sampler_new, rbm_sampler, rbm_sampler_new(NULL, CHAINS, 1, &p), rbm_sampler_free)
CTOR(np_trainer_new, rbm_trainer, rbm_trainer_new(NULL, f->data, BATCH, 1, &p), rbm_trainer_free)
static rbm_status np_ckpt_machine(fixture *f, void **out)
{
    return load_ckpt(NULL, f->ckpt, f->data, out, 0);
}
static rbm_status np_ckpt_trainer(fixture *f, void **out)
{
    return load_ckpt(NULL, f->ckpt, f->data, out, 1);
}
CTOR(np_mf_new, rbm_mf, rbm_mf_new(NULL, RBM_MF_NAIVE, &p), rbm_mf_free)
CTOR(np_mf_fixed_points, rbm_mf_points, rbm_mf_fixed_points(NULL, 1, f->mv, NV, NULL, 0, &p),
     rbm_mf_points_free)
CTOR(np_mf_fixed_points_random, rbm_mf_points, rbm_mf_fixed_points_random(NULL, 2, 1, &p),
     rbm_mf_points_free)
CTOR(np_mf_fixed_points_data, rbm_mf_points, rbm_mf_fixed_points_data(NULL, f->data, 2, 1, &p),
     rbm_mf_points_free)
CTOR(np_svd_new, rbm_svd, rbm_svd_new(NULL, &p), rbm_svd_free)
CTOR(np_mode_tracker_new, rbm_mode_tracker, rbm_mode_tracker_new(NULL, 2, &p),
     rbm_mode_tracker_free)
CTOR(np_ais_new, rbm_ais, rbm_ais_new(NULL, 1, &p), rbm_ais_free)
CTOR(np_ensemble_new, rbm_ensemble, rbm_ensemble_new(NULL, &p), rbm_ensemble_free)
CTOR(np_ensemble_from_machine, rbm_ensemble, rbm_ensemble_from_machine(NULL, 2, &p),
     rbm_ensemble_free)

static const row null_parent_rows[] = {
    {"rbm_dataset_from_memory(ctx NULL)", np_dataset_from_memory, RBM_ERR_NULL},
    {"rbm_dataset_load_idx(ctx NULL)", np_dataset_load_idx, RBM_ERR_NULL},
    {"rbm_dataset_load_csv(ctx NULL)", np_dataset_load_csv, RBM_ERR_NULL},
    {"rbm_dataset_load_npy(ctx NULL)", np_dataset_load_npy, RBM_ERR_NULL},
    {"rbm_dataset_load(ctx NULL)", np_dataset_load, RBM_ERR_NULL},
    {"rbm_dataset_synthetic(ctx NULL)", np_dataset_synthetic, RBM_ERR_NULL},
    {"rbm_dataset_transform(ds NULL)", np_dataset_transform, RBM_ERR_NULL},
    {"rbm_dataset_slice(ds NULL)", np_dataset_slice, RBM_ERR_NULL},
    {"rbm_batch_iter_new(ds NULL)", np_batch_iter_new, RBM_ERR_NULL},
    {"rbm_machine_new(ctx NULL)", np_machine_new, RBM_ERR_NULL},
    {"rbm_machine_clone(m NULL)", np_machine_clone, RBM_ERR_NULL},
    {"rbm_machine_convert(m NULL)", np_machine_convert, RBM_ERR_NULL},
    {"rbm_machine_load(ctx NULL)", np_machine_load, RBM_ERR_NULL},
    {"rbm_rng_new(ctx NULL)", np_rng_new, RBM_ERR_NULL},
    {"rbm_gradient_new(m NULL)", np_gradient_new, RBM_ERR_NULL},
    {"rbm_estimator_new(m NULL)", np_estimator_new, RBM_ERR_NULL},
    {"rbm_sampler_new(m NULL)", np_sampler_new, RBM_ERR_NULL},
    {"rbm_trainer_new(m NULL)", np_trainer_new, RBM_ERR_NULL},
    {"rbm_trainer_load_checkpoint(ctx NULL) machine_out", np_ckpt_machine, RBM_ERR_NULL},
    {"rbm_trainer_load_checkpoint(ctx NULL) trainer_out", np_ckpt_trainer, RBM_ERR_NULL},
    {"rbm_mf_new(m NULL)", np_mf_new, RBM_ERR_NULL},
    {"rbm_mf_fixed_points(s NULL)", np_mf_fixed_points, RBM_ERR_NULL},
    {"rbm_mf_fixed_points_random(s NULL)", np_mf_fixed_points_random, RBM_ERR_NULL},
    {"rbm_mf_fixed_points_data(s NULL)", np_mf_fixed_points_data, RBM_ERR_NULL},
    {"rbm_svd_new(m NULL)", np_svd_new, RBM_ERR_NULL},
    {"rbm_mode_tracker_new(m NULL)", np_mode_tracker_new, RBM_ERR_NULL},
    {"rbm_ais_new(m NULL)", np_ais_new, RBM_ERR_NULL},
    {"rbm_ensemble_new(ctx NULL)", np_ensemble_new, RBM_ERR_NULL},
    {"rbm_ensemble_from_machine(mach NULL)", np_ensemble_from_machine, RBM_ERR_NULL},
};

static void test_constructors_null_parent(void **state)
{
    run_table(*state, "constructors with a NULL parent", null_parent_rows,
              sizeof null_parent_rows / sizeof null_parent_rows[0], CHECK_OUT_NULL);
}

/* ---------------------------------------------------------------------- */
/* table 1b: constructors with a valid parent and another bad argument     */
/* ---------------------------------------------------------------------- */

CTOR(ba_context_no_alloc, rbm_context, rbm_context_new_with_allocator(NULL, fx_free, NULL, &p),
     context_free_fn)
CTOR(ba_context_no_free, rbm_context, rbm_context_new_with_allocator(fx_alloc, NULL, f, &p),
     context_free_fn)
CTOR(ba_context_nomem, rbm_context, rbm_context_new_with_allocator(never_alloc, fx_free, NULL, &p),
     context_free_fn)
CTOR(ba_from_memory_data, rbm_dataset,
     rbm_dataset_from_memory(f->ctx, NULL, RBM_DTYPE_FLOAT64, 1, NV, RBM_COPY, &p),
     rbm_dataset_free)
CTOR(ba_from_memory_rows, rbm_dataset,
     rbm_dataset_from_memory(f->ctx, f->v, RBM_DTYPE_FLOAT64, 0, NV, RBM_COPY, &p),
     rbm_dataset_free)
CTOR(ba_from_memory_dtype, rbm_dataset,
     rbm_dataset_from_memory(f->ctx, f->v, (rbm_dtype)99, 1, NV, RBM_COPY, &p), rbm_dataset_free)
CTOR_NOMEM(ba_from_memory_nomem, rbm_dataset,
           rbm_dataset_from_memory(f->ctx, f->v, RBM_DTYPE_FLOAT64, 1, NV, RBM_COPY, &p),
           rbm_dataset_free)
CTOR(ba_load_idx_path, rbm_dataset, rbm_dataset_load_idx(f->ctx, NULL, &p), rbm_dataset_free)
CTOR(ba_load_idx_missing, rbm_dataset, rbm_dataset_load_idx(f->ctx, f->missing_idx, &p),
     rbm_dataset_free)
CTOR(ba_load_idx_format, rbm_dataset, rbm_dataset_load_idx(f->ctx, f->csv, &p), rbm_dataset_free)
CTOR(ba_load_csv_path, rbm_dataset, rbm_dataset_load_csv(f->ctx, NULL, &p), rbm_dataset_free)
CTOR(ba_load_csv_missing, rbm_dataset, rbm_dataset_load_csv(f->ctx, f->missing_csv, &p),
     rbm_dataset_free)
CTOR(ba_load_npy_path, rbm_dataset, rbm_dataset_load_npy(f->ctx, NULL, &p), rbm_dataset_free)
CTOR(ba_load_npy_missing, rbm_dataset, rbm_dataset_load_npy(f->ctx, f->missing_npy, &p),
     rbm_dataset_free)
CTOR(ba_load_npy_format, rbm_dataset, rbm_dataset_load_npy(f->ctx, f->csv, &p), rbm_dataset_free)
CTOR(ba_load_path, rbm_dataset, rbm_dataset_load(f->ctx, NULL, &p), rbm_dataset_free)
CTOR(ba_load_missing, rbm_dataset, rbm_dataset_load(f->ctx, f->missing_csv, &p), rbm_dataset_free)
CTOR(ba_load_unknown, rbm_dataset, rbm_dataset_load(f->ctx, f->unknown_ext, &p), rbm_dataset_free)
CTOR(ba_synthetic_zero, rbm_dataset, rbm_dataset_synthetic(f->ctx, 0, 2, 2, NV, 0.1, BERN, 1, &p),
     rbm_dataset_free)
CTOR(ba_synthetic_noise, rbm_dataset,
     rbm_dataset_synthetic(f->ctx, 10, 2, 2, NV, -1.0, BERN, 1, &p), rbm_dataset_free)
CTOR(ba_transform_kind, rbm_dataset, rbm_dataset_transform(f->data, (rbm_transform)99, 0.5, &p),
     rbm_dataset_free)
CTOR_NOMEM(ba_transform_nomem, rbm_dataset,
           rbm_dataset_transform(f->data, RBM_TRANSFORM_BINARIZE, 0.5, &p), rbm_dataset_free)
CTOR(ba_slice_empty, rbm_dataset, rbm_dataset_slice(f->data, 0, 0, &p), rbm_dataset_free)
CTOR(ba_slice_range, rbm_dataset, rbm_dataset_slice(f->data, ROWS - 1, 2, &p), rbm_dataset_free)
CTOR(ba_batch_iter_zero, rbm_batch_iter, rbm_batch_iter_new(f->data, 0, RBM_BATCH_SHUFFLE, 1, &p),
     rbm_batch_iter_free)
CTOR(ba_batch_iter_big, rbm_batch_iter,
     rbm_batch_iter_new(f->data, ROWS + 1, RBM_BATCH_SHUFFLE, 1, &p), rbm_batch_iter_free)
CTOR(ba_machine_new_zero, rbm_machine, rbm_machine_new(f->ctx, 0, NH, BERN, BERN, &p),
     rbm_machine_free)
CTOR(ba_machine_new_kind, rbm_machine,
     rbm_machine_new(f->ctx, NV, NH, (rbm_unit_kind)99, BERN, &p), rbm_machine_free)
CTOR_NOMEM(ba_machine_new_nomem, rbm_machine, rbm_machine_new(f->ctx, NV, NH, BERN, BERN, &p),
           rbm_machine_free)
CTOR_NOMEM(ba_machine_clone_nomem, rbm_machine, rbm_machine_clone(f->bern, &p), rbm_machine_free)
CTOR(ba_machine_convert_to, rbm_machine, rbm_machine_convert(f->bern, GAUSS, &p, NULL),
     rbm_machine_free)
CTOR_NOMEM(ba_machine_convert_nomem, rbm_machine,
           rbm_machine_convert(f->bern, RBM_UNIT_ISING, &p, NULL), rbm_machine_free)
CTOR(ba_machine_load_path, rbm_machine, rbm_machine_load(f->ctx, NULL, &p), rbm_machine_free)
CTOR(ba_machine_load_missing, rbm_machine, rbm_machine_load(f->ctx, f->missing_model, &p),
     rbm_machine_free)
CTOR(ba_machine_load_format, rbm_machine, rbm_machine_load(f->ctx, f->csv, &p), rbm_machine_free)
CTOR_NOMEM(ba_rng_new_nomem, rbm_rng, rbm_rng_new(f->ctx, 1, &p), rbm_rng_free)
CTOR_NOMEM(ba_gradient_new_nomem, rbm_gradient, rbm_gradient_new(f->bern, &p), rbm_gradient_free)
CTOR(ba_estimator_kind, rbm_estimator,
     rbm_estimator_new(f->bern, (rbm_estimator_kind)99, BATCH, 1, &p), rbm_estimator_free)
CTOR(ba_estimator_batch0, rbm_estimator,
     rbm_estimator_new(f->bern, RBM_ESTIMATOR_PCD, 0, 1, &p), rbm_estimator_free)
CTOR(ba_estimator_tap_gg, rbm_estimator,
     rbm_estimator_new(f->gauss, RBM_ESTIMATOR_TAP2, BATCH, 1, &p), rbm_estimator_free)
CTOR_NOMEM(ba_estimator_nomem, rbm_estimator,
           rbm_estimator_new(f->bern, RBM_ESTIMATOR_PCD, BATCH, 1, &p), rbm_estimator_free)
CTOR(ba_sampler_zero, rbm_sampler, rbm_sampler_new(f->bern, 0, 1, &p), rbm_sampler_free)
CTOR_NOMEM(ba_sampler_nomem, rbm_sampler, rbm_sampler_new(f->bern, CHAINS, 1, &p),
           rbm_sampler_free)
CTOR(ba_trainer_data, rbm_trainer, rbm_trainer_new(f->bern, NULL, BATCH, 1, &p), rbm_trainer_free)
CTOR(ba_trainer_batch0, rbm_trainer, rbm_trainer_new(f->bern, f->data, 0, 1, &p),
     rbm_trainer_free)
/* rbm_trainer_new on a 4 x cols dataset filled with `value` (made here). */
static rbm_status trainer_on(fixture *f, void **out, size_t cols, double value)
{
    double d[4 * (NV + 1)];
    for (size_t i = 0; i < 4 * cols; i++)
        d[i] = value;
    rbm_dataset *ds = NULL;
    RBM_OKAY(f->ctx, rbm_dataset_from_memory(f->ctx, d, RBM_DTYPE_FLOAT64, 4, cols, RBM_COPY, &ds));
    rbm_trainer *p = *out;
    rbm_status st = rbm_trainer_new(f->bern, ds, 2, 1, &p);
    *out = (void *)p;
    if (st == RBM_OK && p && (void *)p != SENTINEL)
        rbm_trainer_free(p);
    rbm_dataset_free(ds);
    return st;
}
static rbm_status ba_trainer_shape(fixture *f, void **out)
{
    return trainer_on(f, out, NV - 1, 1.0);
}
static rbm_status ba_trainer_range(fixture *f, void **out)
{
    return trainer_on(f, out, NV, 2.0); /* Bernoulli data must lie in [0, 1] */
}
CTOR_NOMEM(ba_trainer_nomem, rbm_trainer, rbm_trainer_new(f->bern, f->data, BATCH, 1, &p),
           rbm_trainer_free)
static rbm_status ba_ckpt_path_m(fixture *f, void **out)
{
    return load_ckpt(f->ctx, NULL, f->data, out, 0);
}
static rbm_status ba_ckpt_path_t(fixture *f, void **out)
{
    return load_ckpt(f->ctx, NULL, f->data, out, 1);
}
static rbm_status ba_ckpt_data_m(fixture *f, void **out)
{
    return load_ckpt(f->ctx, f->ckpt, NULL, out, 0);
}
static rbm_status ba_ckpt_data_t(fixture *f, void **out)
{
    return load_ckpt(f->ctx, f->ckpt, NULL, out, 1);
}
static rbm_status ba_ckpt_missing_m(fixture *f, void **out)
{
    return load_ckpt(f->ctx, f->missing_model, f->data, out, 0);
}
static rbm_status ba_ckpt_missing_t(fixture *f, void **out)
{
    return load_ckpt(f->ctx, f->missing_model, f->data, out, 1);
}
static rbm_status ba_ckpt_model_m(fixture *f, void **out)
{
    return load_ckpt(f->ctx, f->model, f->data, out, 0); /* a model, not a checkpoint */
}
static rbm_status ba_ckpt_model_t(fixture *f, void **out)
{
    return load_ckpt(f->ctx, f->model, f->data, out, 1);
}
CTOR(ba_mf_new_method, rbm_mf, rbm_mf_new(f->bern, (rbm_mf_method)99, &p), rbm_mf_free)
CTOR(ba_mf_new_tap_gg, rbm_mf, rbm_mf_new(f->gauss, RBM_MF_TAP2, &p), rbm_mf_free)
CTOR_NOMEM(ba_mf_new_nomem, rbm_mf, rbm_mf_new(f->bern, RBM_MF_NAIVE, &p), rbm_mf_free)
CTOR(ba_fp_zero, rbm_mf_points, rbm_mf_fixed_points(f->mf, 0, f->mv, NV, NULL, 0, &p),
     rbm_mf_points_free)
CTOR(ba_fp_mv0, rbm_mf_points, rbm_mf_fixed_points(f->mf, 1, NULL, NV, NULL, 0, &p),
     rbm_mf_points_free)
CTOR(ba_fp_shape, rbm_mf_points, rbm_mf_fixed_points(f->mf, 1, f->mv, NV - 1, NULL, 0, &p),
     rbm_mf_points_free)
CTOR(ba_fp_random_zero, rbm_mf_points, rbm_mf_fixed_points_random(f->mf, 0, 1, &p),
     rbm_mf_points_free)
CTOR_NOMEM(ba_fp_random_nomem, rbm_mf_points, rbm_mf_fixed_points_random(f->mf, 2, 1, &p),
           rbm_mf_points_free)
CTOR(ba_fp_data_null, rbm_mf_points, rbm_mf_fixed_points_data(f->mf, NULL, 2, 1, &p),
     rbm_mf_points_free)
CTOR(ba_fp_data_zero, rbm_mf_points, rbm_mf_fixed_points_data(f->mf, f->data, 0, 1, &p),
     rbm_mf_points_free)
CTOR_NOMEM(ba_svd_new_nomem, rbm_svd, rbm_svd_new(f->bern, &p), rbm_svd_free)
CTOR(ba_tracker_zero, rbm_mode_tracker, rbm_mode_tracker_new(f->bern, 0, &p),
     rbm_mode_tracker_free)
CTOR(ba_tracker_big, rbm_mode_tracker, rbm_mode_tracker_new(f->bern, NH + 1, &p),
     rbm_mode_tracker_free)
CTOR_NOMEM(ba_tracker_nomem, rbm_mode_tracker, rbm_mode_tracker_new(f->bern, 2, &p),
           rbm_mode_tracker_free)
CTOR(ba_ais_gg, rbm_ais, rbm_ais_new(f->gauss, 1, &p), rbm_ais_free)
CTOR_NOMEM(ba_ais_nomem, rbm_ais, rbm_ais_new(f->bern, 1, &p), rbm_ais_free)
CTOR_NOMEM(ba_ensemble_new_nomem, rbm_ensemble, rbm_ensemble_new(f->ctx, &p), rbm_ensemble_free)
CTOR(ba_ens_machine_zero, rbm_ensemble, rbm_ensemble_from_machine(f->bern, 0, &p),
     rbm_ensemble_free)
CTOR(ba_ens_machine_gauss, rbm_ensemble, rbm_ensemble_from_machine(f->gauss, 2, &p),
     rbm_ensemble_free)
CTOR_NOMEM(ba_ens_machine_nomem, rbm_ensemble, rbm_ensemble_from_machine(f->bern, 2, &p),
           rbm_ensemble_free)

static const row bad_argument_rows[] = {
    {"rbm_context_new_with_allocator(alloc NULL)", ba_context_no_alloc, RBM_ERR_NULL},
    {"rbm_context_new_with_allocator(free_fn NULL)", ba_context_no_free, RBM_ERR_NULL},
    {"rbm_context_new_with_allocator(alloc fails)", ba_context_nomem, RBM_ERR_NO_MEMORY},
    {"rbm_dataset_from_memory(data NULL)", ba_from_memory_data, RBM_ERR_NULL},
    {"rbm_dataset_from_memory(rows 0)", ba_from_memory_rows, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_dataset_from_memory(dtype 99)", ba_from_memory_dtype, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_dataset_from_memory(alloc fails)", ba_from_memory_nomem, RBM_ERR_NO_MEMORY},
    {"rbm_dataset_load_idx(path NULL)", ba_load_idx_path, RBM_ERR_NULL},
    {"rbm_dataset_load_idx(missing file)", ba_load_idx_missing, RBM_ERR_IO},
    {"rbm_dataset_load_idx(a CSV file)", ba_load_idx_format, RBM_ERR_BAD_FORMAT},
    {"rbm_dataset_load_csv(path NULL)", ba_load_csv_path, RBM_ERR_NULL},
    {"rbm_dataset_load_csv(missing file)", ba_load_csv_missing, RBM_ERR_IO},
    {"rbm_dataset_load_npy(path NULL)", ba_load_npy_path, RBM_ERR_NULL},
    {"rbm_dataset_load_npy(missing file)", ba_load_npy_missing, RBM_ERR_IO},
    {"rbm_dataset_load_npy(a CSV file)", ba_load_npy_format, RBM_ERR_BAD_FORMAT},
    {"rbm_dataset_load(path NULL)", ba_load_path, RBM_ERR_NULL},
    {"rbm_dataset_load(missing .csv)", ba_load_missing, RBM_ERR_IO},
    {"rbm_dataset_load(unknown extension)", ba_load_unknown, RBM_ERR_BAD_FORMAT},
    {"rbm_dataset_synthetic(n_samples 0)", ba_synthetic_zero, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_dataset_synthetic(noise < 0)", ba_synthetic_noise, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_dataset_transform(transform 99)", ba_transform_kind, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_dataset_transform(alloc fails)", ba_transform_nomem, RBM_ERR_NO_MEMORY},
    {"rbm_dataset_slice(count 0)", ba_slice_empty, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_dataset_slice(past the end)", ba_slice_range, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_batch_iter_new(batch_size 0)", ba_batch_iter_zero, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_batch_iter_new(batch_size > rows)", ba_batch_iter_big, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_machine_new(n_visible 0)", ba_machine_new_zero, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_machine_new(kind 99)", ba_machine_new_kind, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_machine_new(alloc fails)", ba_machine_new_nomem, RBM_ERR_NO_MEMORY},
    {"rbm_machine_clone(alloc fails)", ba_machine_clone_nomem, RBM_ERR_NO_MEMORY},
    {"rbm_machine_convert(to Gaussian)", ba_machine_convert_to, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_machine_convert(alloc fails)", ba_machine_convert_nomem, RBM_ERR_NO_MEMORY},
    {"rbm_machine_load(path NULL)", ba_machine_load_path, RBM_ERR_NULL},
    {"rbm_machine_load(missing file)", ba_machine_load_missing, RBM_ERR_IO},
    {"rbm_machine_load(a CSV file)", ba_machine_load_format, RBM_ERR_BAD_FORMAT},
    {"rbm_rng_new(alloc fails)", ba_rng_new_nomem, RBM_ERR_NO_MEMORY},
    {"rbm_gradient_new(alloc fails)", ba_gradient_new_nomem, RBM_ERR_NO_MEMORY},
    {"rbm_estimator_new(unknown kind)", ba_estimator_kind, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_estimator_new(max_batch 0)", ba_estimator_batch0, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_estimator_new(TAP2 on Gauss-Gauss)", ba_estimator_tap_gg, RBM_ERR_UNSUPPORTED},
    {"rbm_estimator_new(alloc fails)", ba_estimator_nomem, RBM_ERR_NO_MEMORY},
    {"rbm_sampler_new(n_chains 0)", ba_sampler_zero, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_sampler_new(alloc fails)", ba_sampler_nomem, RBM_ERR_NO_MEMORY},
    {"rbm_trainer_new(data NULL)", ba_trainer_data, RBM_ERR_NULL},
    {"rbm_trainer_new(batch_size 0)", ba_trainer_batch0, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_trainer_new(data has 5 columns)", ba_trainer_shape, RBM_ERR_SHAPE},
    {"rbm_trainer_new(data value 2)", ba_trainer_range, RBM_ERR_OUT_OF_RANGE},
    {"rbm_trainer_new(alloc fails)", ba_trainer_nomem, RBM_ERR_NO_MEMORY},
    {"rbm_trainer_load_checkpoint(path NULL) machine_out", ba_ckpt_path_m, RBM_ERR_NULL},
    {"rbm_trainer_load_checkpoint(path NULL) trainer_out", ba_ckpt_path_t, RBM_ERR_NULL},
    {"rbm_trainer_load_checkpoint(data NULL) machine_out", ba_ckpt_data_m, RBM_ERR_NULL},
    {"rbm_trainer_load_checkpoint(data NULL) trainer_out", ba_ckpt_data_t, RBM_ERR_NULL},
    {"rbm_trainer_load_checkpoint(missing file) machine_out", ba_ckpt_missing_m, RBM_ERR_IO},
    {"rbm_trainer_load_checkpoint(missing file) trainer_out", ba_ckpt_missing_t, RBM_ERR_IO},
    {"rbm_trainer_load_checkpoint(model, no TRNS) machine_out", ba_ckpt_model_m,
     RBM_ERR_BAD_FORMAT},
    {"rbm_trainer_load_checkpoint(model, no TRNS) trainer_out", ba_ckpt_model_t,
     RBM_ERR_BAD_FORMAT},
    {"rbm_mf_new(method 99)", ba_mf_new_method, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_mf_new(TAP2 on Gauss-Gauss)", ba_mf_new_tap_gg, RBM_ERR_UNSUPPORTED},
    {"rbm_mf_new(alloc fails)", ba_mf_new_nomem, RBM_ERR_NO_MEMORY},
    {"rbm_mf_fixed_points(n_starts 0)", ba_fp_zero, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_mf_fixed_points(mv0 NULL)", ba_fp_mv0, RBM_ERR_NULL},
    {"rbm_mf_fixed_points(mv0_len wrong)", ba_fp_shape, RBM_ERR_SHAPE},
    {"rbm_mf_fixed_points_random(n_starts 0)", ba_fp_random_zero, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_mf_fixed_points_random(alloc fails)", ba_fp_random_nomem, RBM_ERR_NO_MEMORY},
    {"rbm_mf_fixed_points_data(data NULL)", ba_fp_data_null, RBM_ERR_NULL},
    {"rbm_mf_fixed_points_data(n_starts 0)", ba_fp_data_zero, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_svd_new(alloc fails)", ba_svd_new_nomem, RBM_ERR_NO_MEMORY},
    {"rbm_mode_tracker_new(n_modes 0)", ba_tracker_zero, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_mode_tracker_new(n_modes > rank)", ba_tracker_big, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_mode_tracker_new(alloc fails)", ba_tracker_nomem, RBM_ERR_NO_MEMORY},
    {"rbm_ais_new(Gauss-Gauss)", ba_ais_gg, RBM_ERR_UNSUPPORTED},
    {"rbm_ais_new(alloc fails)", ba_ais_nomem, RBM_ERR_NO_MEMORY},
    {"rbm_ensemble_new(alloc fails)", ba_ensemble_new_nomem, RBM_ERR_NO_MEMORY},
    {"rbm_ensemble_from_machine(max_modes 0)", ba_ens_machine_zero, RBM_ERR_INVALID_ARGUMENT},
    {"rbm_ensemble_from_machine(Gaussian layer)", ba_ens_machine_gauss, RBM_ERR_UNSUPPORTED},
    {"rbm_ensemble_from_machine(alloc fails)", ba_ens_machine_nomem, RBM_ERR_NO_MEMORY},
};

static void test_constructors_bad_argument(void **state)
{
    run_table(*state, "constructors with a bad argument", bad_argument_rows,
              sizeof bad_argument_rows / sizeof bad_argument_rows[0], CHECK_OUT_NULL);
}

/* ---------------------------------------------------------------------- */
/* table 2: a NULL required pointer with a valid handle                    */
/* ---------------------------------------------------------------------- */

/* Arguments documented as optional ("may be NULL") are not listed:
 * rbm_dataset_range min/max, rbm_machine_convert log_z_shift,
 * rbm_exact_log_likelihood log_z, rbm_ais_run outputs, rbm_svd_bulk outputs,
 * rbm_svd_pca_overlaps eigenvalues, rbm_svd_project_gradient omega_v/h,
 * rbm_mode_tracker_get_record outputs, rbm_linear_integrate times (and w_out with
 * n_out = 0), rbm_mf_solve mh/iterations/residual, rbm_mf_variances cv/ch,
 * rbm_mf_points_properties/_magnetizations/_project/_log_z outputs,
 * rbm_mf_dynamics_step n_states, rbm_ensemble_solve starts,
 * rbm_ensemble_get_solution/_phase outputs, rbm_ensemble_diagram m/q/
 * n_unconverged, rbm_machine_phase outputs, rbm_phase_line_fsg q/qbar,
 * rbm_unit_eval outputs, rbm_context_set_log fn, rbm_ais_set_progress fn,
 * rbm_trainer_set_observer fn, rbm_ais_set_base_from_data data.
 * rbm_ensemble_law law/sparsity are not listed either: phase.h does not
 * say whether they may be NULL (the library accepts NULL for both). */

/* constructors: out NULL */
CALL(no_from_memory, rbm_dataset_from_memory(f->ctx, f->v, RBM_DTYPE_FLOAT64, 1, NV, RBM_COPY, NULL))
CALL(no_load_idx, rbm_dataset_load_idx(f->ctx, f->idx, NULL))
CALL(no_load_csv, rbm_dataset_load_csv(f->ctx, f->csv, NULL))
CALL(no_load_npy, rbm_dataset_load_npy(f->ctx, f->npy, NULL))
CALL(no_load, rbm_dataset_load(f->ctx, f->csv, NULL))
CALL(no_synthetic, rbm_dataset_synthetic(f->ctx, 10, 2, 2, NV, 0.1, BERN, 1, NULL))
CALL(no_transform, rbm_dataset_transform(f->data, RBM_TRANSFORM_BINARIZE, 0.5, NULL))
CALL(no_slice, rbm_dataset_slice(f->data, 0, 2, NULL))
CALL(no_batch_iter_new, rbm_batch_iter_new(f->data, BATCH, RBM_BATCH_SHUFFLE, 1, NULL))
CALL(no_machine_new, rbm_machine_new(f->ctx, NV, NH, BERN, BERN, NULL))
CALL(no_machine_clone, rbm_machine_clone(f->bern, NULL))
CALL(no_machine_convert, rbm_machine_convert(f->bern, RBM_UNIT_ISING, NULL, NULL))
CALL(no_machine_load, rbm_machine_load(f->ctx, f->model, NULL))
CALL(no_rng_new, rbm_rng_new(f->ctx, 1, NULL))
CALL(no_gradient_new, rbm_gradient_new(f->bern, NULL))
CALL(no_estimator_new, rbm_estimator_new(f->bern, RBM_ESTIMATOR_CD, BATCH, 1, NULL))
CALL(no_sampler_new, rbm_sampler_new(f->bern, CHAINS, 1, NULL))
CALL(no_trainer_new, rbm_trainer_new(f->bern, f->data, BATCH, 1, NULL))
static rbm_status no_ckpt_machine(fixture *f, void **out)
{
    (void)out;
    rbm_trainer *t = NULL;
    rbm_status st = rbm_trainer_load_checkpoint(f->ctx, f->ckpt, f->data, NULL, &t);
    rbm_trainer_free(t);
    return st;
}
static rbm_status no_ckpt_trainer(fixture *f, void **out)
{
    (void)out;
    rbm_machine *m = NULL;
    rbm_status st = rbm_trainer_load_checkpoint(f->ctx, f->ckpt, f->data, &m, NULL);
    rbm_machine_free(m);
    return st;
}
CALL(no_mf_new, rbm_mf_new(f->bern, RBM_MF_NAIVE, NULL))
CALL(no_fixed_points, rbm_mf_fixed_points(f->mf, 1, f->mv, NV, NULL, 0, NULL))
CALL(no_fixed_points_random, rbm_mf_fixed_points_random(f->mf, 2, 1, NULL))
CALL(no_fixed_points_data, rbm_mf_fixed_points_data(f->mf, f->data, 2, 1, NULL))
CALL(no_svd_new, rbm_svd_new(f->bern, NULL))
CALL(no_mode_tracker_new, rbm_mode_tracker_new(f->bern, 2, NULL))
CALL(no_ais_new, rbm_ais_new(f->bern, 1, NULL))
CALL(no_ensemble_new, rbm_ensemble_new(f->ctx, NULL))
CALL(no_ensemble_from_machine, rbm_ensemble_from_machine(f->bern, 2, NULL))

/* rng.h, units.h (an rng carries a context) */
CALL(nb_rng_get_state, rbm_rng_get_state(f->rng, NULL, RBM_RNG_STATE_BYTES))
CALL(nb_rng_set_state, rbm_rng_set_state(f->rng, NULL, RBM_RNG_STATE_BYTES))
CALL(nb_unit_sample_out, rbm_unit_sample(BERN, 1.0, 1, f->v, f->rng, NULL, 1))
CALL(nb_unit_sample_field, rbm_unit_sample(BERN, 1.0, 1, NULL, f->rng, f->buf, 1))

/* machine.h */
CALL(nb_get_weights, rbm_machine_get_weights(f->bern, NULL, NV * NH))
CALL(nb_set_weights, rbm_machine_set_weights(f->bern, NULL, NV * NH))
CALL(nb_get_visible_bias, rbm_machine_get_visible_bias(f->bern, NULL, NV))
CALL(nb_set_visible_bias, rbm_machine_set_visible_bias(f->bern, NULL, NV))
CALL(nb_get_hidden_bias, rbm_machine_get_hidden_bias(f->bern, NULL, NH))
CALL(nb_set_hidden_bias, rbm_machine_set_hidden_bias(f->bern, NULL, NH))
CALL(nb_energy_v, rbm_machine_energy(f->bern, 1, NULL, NV, f->h, NH, f->buf, 1))
CALL(nb_energy_h, rbm_machine_energy(f->bern, 1, f->v, NV, NULL, NH, f->buf, 1))
CALL(nb_energy_out, rbm_machine_energy(f->bern, 1, f->v, NV, f->h, NH, NULL, 1))
CALL(nb_free_energy_v, rbm_machine_free_energy(f->bern, 1, NULL, NV, f->buf, 1))
CALL(nb_free_energy_out, rbm_machine_free_energy(f->bern, 1, f->v, NV, NULL, 1))
CALL(nb_free_energy_hidden_h, rbm_machine_free_energy_hidden(f->bern, 1, NULL, NH, f->buf, 1))
CALL(nb_free_energy_hidden_out, rbm_machine_free_energy_hidden(f->bern, 1, f->h, NH, NULL, 1))
CALL(nb_hidden_mean_v, rbm_machine_hidden_mean(f->bern, 1, NULL, NV, f->buf, NH))
CALL(nb_hidden_mean_out, rbm_machine_hidden_mean(f->bern, 1, f->v, NV, NULL, NH))
CALL(nb_visible_mean_h, rbm_machine_visible_mean(f->bern, 1, NULL, NH, f->buf, NV))
CALL(nb_visible_mean_out, rbm_machine_visible_mean(f->bern, 1, f->h, NH, NULL, NV))
CALL(nb_sample_hidden_rng, rbm_machine_sample_hidden(f->bern, NULL, 1, f->v, NV, f->buf, NH))
CALL(nb_sample_hidden_v, rbm_machine_sample_hidden(f->bern, f->rng, 1, NULL, NV, f->buf, NH))
CALL(nb_sample_hidden_out, rbm_machine_sample_hidden(f->bern, f->rng, 1, f->v, NV, NULL, NH))
CALL(nb_sample_visible_rng, rbm_machine_sample_visible(f->bern, NULL, 1, f->h, NH, f->buf, NV))
CALL(nb_sample_visible_h, rbm_machine_sample_visible(f->bern, f->rng, 1, NULL, NH, f->buf, NV))
CALL(nb_sample_visible_out, rbm_machine_sample_visible(f->bern, f->rng, 1, f->h, NH, NULL, NV))
CALL(nb_machine_save, rbm_machine_save(f->bern, NULL))

/* dataset.h */
CALL(nb_get_rows, rbm_dataset_get_rows(f->data, 0, 1, NULL, NV))
CALL(nb_dataset_mean, rbm_dataset_mean(f->data, NULL, NV))
CALL(nb_dataset_covariance, rbm_dataset_covariance(f->data, NULL, NV * NV))
CALL(nb_batch_iter_next_out, rbm_batch_iter_next(f->iter, NULL, BATCH * NV, &f->sbuf))
CALL(nb_batch_iter_next_rows, rbm_batch_iter_next(f->iter, f->buf, BATCH * NV, NULL))

/* sampler.h */
CALL(nb_sampler_get_visible, rbm_sampler_get_visible(f->sampler, NULL, CHAINS * NV))
CALL(nb_sampler_get_hidden, rbm_sampler_get_hidden(f->sampler, NULL, CHAINS * NH))
CALL(nb_sampler_set_visible, rbm_sampler_set_visible(f->sampler, NULL, CHAINS * NV))

/* estimator.h */
CALL(nb_gradient_get_weights, rbm_gradient_get_weights(f->grad, NULL, NV * NH))
CALL(nb_gradient_get_visible_bias, rbm_gradient_get_visible_bias(f->grad, NULL, NV))
CALL(nb_gradient_get_hidden_bias, rbm_gradient_get_hidden_bias(f->grad, NULL, NH))
CALL(nb_gradient_apply_machine, rbm_gradient_apply(f->grad, NULL, 0.1))
CALL(nb_estimator_compute_v, rbm_estimator_compute(f->est, 1, NULL, NV, f->grad))
CALL(nb_estimator_compute_g, rbm_estimator_compute(f->est, 1, f->v, NV, NULL))

/* trainer.h */
CALL(nb_trainer_get_real, rbm_trainer_get_real(f->trainer, RBM_TRAINER_LEARNING_RATE, NULL))
CALL(nb_trainer_get_int, rbm_trainer_get_int(f->trainer, RBM_TRAINER_MONITOR_EVERY, NULL))
CALL(nb_estimator_get_int, rbm_estimator_get_int(f->est, RBM_ESTIMATOR_K, NULL))
CALL(nb_trainer_save_checkpoint, rbm_trainer_save_checkpoint(f->trainer, NULL))

/* metrics.h */
CALL(nb_exact_log_z, rbm_exact_log_z(f->bern, NULL))
CALL(nb_mean_free_energy, rbm_mean_free_energy(f->bern, f->data, NULL))
CALL(nb_log_likelihood, rbm_log_likelihood(f->bern, f->data, 0.0, NULL))
CALL(nb_exact_log_likelihood, rbm_exact_log_likelihood(f->bern, f->data, NULL, NULL))
CALL(nb_pseudo_log_likelihood, rbm_pseudo_log_likelihood(f->bern, f->data, NULL))
CALL(nb_reconstruction_error, rbm_reconstruction_error(f->bern, f->data, NULL))
CALL(nb_free_energy_gap, rbm_free_energy_gap(f->bern, f->data, f->data, NULL))
CALL(nb_ais_set_schedule, rbm_ais_set_schedule(f->ais, NULL, 3))

/* svd.h */
CALL(nb_svd_singular_values, rbm_svd_get_singular_values(f->svd, NULL, NH))
CALL(nb_svd_left_vectors, rbm_svd_get_left_vectors(f->svd, NULL, NV *NH))
CALL(nb_svd_right_vectors, rbm_svd_get_right_vectors(f->svd, NULL, NH *NH))
CALL(nb_svd_project_visible_x, rbm_svd_project_visible(f->svd, 1, NULL, NV, 2, f->buf, 2))
CALL(nb_svd_project_visible_out, rbm_svd_project_visible(f->svd, 1, f->v, NV, 2, NULL, 2))
CALL(nb_svd_project_hidden_h, rbm_svd_project_hidden(f->svd, 1, NULL, NH, 2, f->buf, 2))
CALL(nb_svd_project_hidden_out, rbm_svd_project_hidden(f->svd, 1, f->h, NH, 2, NULL, 2))
CALL(nb_svd_project_dataset, rbm_svd_project_dataset(f->svd, f->data, 2, NULL, ROWS * 2))
CALL(nb_svd_pca_overlaps, rbm_svd_pca_overlaps(f->svd, f->data, 2, NULL, 4, NULL, 0))
CALL(nb_svd_project_gradient,
     rbm_svd_project_gradient(f->svd, f->grad, 2, 1e-8, NULL, 4, NULL, 0, NULL, 0))
CALL(nb_mode_tracker_write_csv, rbm_mode_tracker_write_csv(f->tracker, NULL))

/* linear.h (Gauss-Gauss machine) */
CALL(nb_linear_model_covariance, rbm_linear_model_covariance(f->gauss, NULL, NV * NV))
CALL(nb_linear_gradient_C, rbm_linear_gradient(f->gauss, NULL, NV * NV, f->buf, NV * NH))
CALL(nb_linear_gradient_dW, rbm_linear_gradient(f->gauss, f->C, NV * NV, NULL, NV * NH))
CALL(nb_linear_integrate_C,
     rbm_linear_integrate(f->gauss, NULL, NV * NV, 0.1, 1e-6, 1e-9, 0, NULL, 0, NULL, 0, NULL, NULL))
CALL(nb_linear_integrate_w_out, rbm_linear_integrate(f->gauss, f->C, NV * NV, 0.1, 1e-6, 1e-9, 2,
                                                     NULL, 0, NULL, 2 * NH, NULL, NULL))

/* meanfield.h */
CALL(nb_mf_get_real, rbm_mf_get_real(f->mf, RBM_MF_DAMPING, NULL))
CALL(nb_mf_get_int, rbm_mf_get_int(f->mf, RBM_MF_MAX_ITERATIONS, NULL))
CALL(nb_mf_solve_mv, rbm_mf_solve(f->mf, NULL, NV, NULL, 0, NULL, NULL))
CALL(nb_mf_free_energy_mv, rbm_mf_free_energy(f->mf, NULL, NV, f->mh, NH, f->buf))
CALL(nb_mf_free_energy_mh, rbm_mf_free_energy(f->mf, f->mv, NV, NULL, NH, f->buf))
CALL(nb_mf_free_energy_gamma, rbm_mf_free_energy(f->mf, f->mv, NV, f->mh, NH, NULL))
CALL(nb_mf_gradient_mv, rbm_mf_gradient(f->mf, NULL, NV, f->mh, NH, f->buf, NV, f->buf + NV, NH))
CALL(nb_mf_gradient_mh, rbm_mf_gradient(f->mf, f->mv, NV, NULL, NH, f->buf, NV, f->buf + NV, NH))
CALL(nb_mf_gradient_gv, rbm_mf_gradient(f->mf, f->mv, NV, f->mh, NH, NULL, NV, f->buf + NV, NH))
CALL(nb_mf_gradient_gh, rbm_mf_gradient(f->mf, f->mv, NV, f->mh, NH, f->buf, NV, NULL, NH))
CALL(nb_mf_hessian_mv, rbm_mf_hessian(f->mf, NULL, NV, f->mh, NH, f->buf, (NV + NH) * (NV + NH)))
CALL(nb_mf_hessian_mh, rbm_mf_hessian(f->mf, f->mv, NV, NULL, NH, f->buf, (NV + NH) * (NV + NH)))
CALL(nb_mf_hessian_out, rbm_mf_hessian(f->mf, f->mv, NV, f->mh, NH, NULL, (NV + NH) * (NV + NH)))
CALL(nb_mf_variances_mv, rbm_mf_variances(f->mf, NULL, NV, f->mh, NH, f->buf, NV, NULL, 0))
CALL(nb_mf_variances_mh, rbm_mf_variances(f->mf, f->mv, NV, NULL, NH, f->buf, NV, NULL, 0))
CALL(nb_mf_weight_gradient_mv, rbm_mf_weight_gradient(f->mf, NULL, NV, f->mh, NH, f->buf, NV * NH))
CALL(nb_mf_weight_gradient_mh, rbm_mf_weight_gradient(f->mf, f->mv, NV, NULL, NH, f->buf, NV * NH))
CALL(nb_mf_weight_gradient_dw, rbm_mf_weight_gradient(f->mf, f->mv, NV, f->mh, NH, NULL, NV * NH))
CALL(nb_mf_points_all_visible,
     rbm_mf_points_get_all_visible(f->points, NULL, rbm_mf_points_count(f->points) * NV))
CALL(nb_mf_points_all_hidden,
     rbm_mf_points_get_all_hidden(f->points, NULL, rbm_mf_points_count(f->points) * NH))

/* phase.h */
CALL(nb_ensemble_get_real, rbm_ensemble_get_real(f->ens, RBM_ENSEMBLE_KAPPA, NULL))
CALL(nb_ensemble_get_int, rbm_ensemble_get_int(f->ens, RBM_ENSEMBLE_MAX_ITERATIONS, NULL))
CALL(nb_ensemble_set_modes, rbm_ensemble_set_modes(f->ens, NULL, 1))
CALL(nb_ensemble_get_modes, rbm_ensemble_get_modes(f->ens, NULL, 1))
CALL(nb_ensemble_kurtosis_criterion, rbm_ensemble_kurtosis_criterion(f->ens, NULL))
static rbm_status nb_ensemble_diagram_x(fixture *f, void **out)
{
    (void)out;
    int32_t ph[1];
    return rbm_ensemble_diagram(f->ens, RBM_DIAGRAM_TEMPERATURE, NULL, 1, f->w1, 1, ph, 1, NULL, 0,
                                NULL, 0, NULL);
}
static rbm_status nb_ensemble_diagram_w1(fixture *f, void **out)
{
    (void)out;
    int32_t ph[1];
    return rbm_ensemble_diagram(f->ens, RBM_DIAGRAM_TEMPERATURE, f->x1, 1, NULL, 1, ph, 1, NULL, 0,
                                NULL, 0, NULL);
}
CALL(nb_ensemble_diagram_phase, rbm_ensemble_diagram(f->ens, RBM_DIAGRAM_TEMPERATURE, f->x1, 1,
                                                     f->w1, 1, NULL, 1, NULL, 0, NULL, 0, NULL))

static const row null_pointer_rows[] = {
    {"rbm_dataset_from_memory(out NULL)", no_from_memory, RBM_ERR_NULL},
    {"rbm_dataset_load_idx(out NULL)", no_load_idx, RBM_ERR_NULL},
    {"rbm_dataset_load_csv(out NULL)", no_load_csv, RBM_ERR_NULL},
    {"rbm_dataset_load_npy(out NULL)", no_load_npy, RBM_ERR_NULL},
    {"rbm_dataset_load(out NULL)", no_load, RBM_ERR_NULL},
    {"rbm_dataset_synthetic(out NULL)", no_synthetic, RBM_ERR_NULL},
    {"rbm_dataset_transform(out NULL)", no_transform, RBM_ERR_NULL},
    {"rbm_dataset_slice(out NULL)", no_slice, RBM_ERR_NULL},
    {"rbm_batch_iter_new(out NULL)", no_batch_iter_new, RBM_ERR_NULL},
    {"rbm_machine_new(out NULL)", no_machine_new, RBM_ERR_NULL},
    {"rbm_machine_clone(out NULL)", no_machine_clone, RBM_ERR_NULL},
    {"rbm_machine_convert(out NULL)", no_machine_convert, RBM_ERR_NULL},
    {"rbm_machine_load(out NULL)", no_machine_load, RBM_ERR_NULL},
    {"rbm_rng_new(out NULL)", no_rng_new, RBM_ERR_NULL},
    {"rbm_gradient_new(out NULL)", no_gradient_new, RBM_ERR_NULL},
    {"rbm_estimator_new(out NULL)", no_estimator_new, RBM_ERR_NULL},
    {"rbm_sampler_new(out NULL)", no_sampler_new, RBM_ERR_NULL},
    {"rbm_trainer_new(out NULL)", no_trainer_new, RBM_ERR_NULL},
    {"rbm_trainer_load_checkpoint(machine_out NULL)", no_ckpt_machine, RBM_ERR_NULL},
    {"rbm_trainer_load_checkpoint(trainer_out NULL)", no_ckpt_trainer, RBM_ERR_NULL},
    {"rbm_mf_new(out NULL)", no_mf_new, RBM_ERR_NULL},
    {"rbm_mf_fixed_points(out NULL)", no_fixed_points, RBM_ERR_NULL},
    {"rbm_mf_fixed_points_random(out NULL)", no_fixed_points_random, RBM_ERR_NULL},
    {"rbm_mf_fixed_points_data(out NULL)", no_fixed_points_data, RBM_ERR_NULL},
    {"rbm_svd_new(out NULL)", no_svd_new, RBM_ERR_NULL},
    {"rbm_mode_tracker_new(out NULL)", no_mode_tracker_new, RBM_ERR_NULL},
    {"rbm_ais_new(out NULL)", no_ais_new, RBM_ERR_NULL},
    {"rbm_ensemble_new(out NULL)", no_ensemble_new, RBM_ERR_NULL},
    {"rbm_ensemble_from_machine(out NULL)", no_ensemble_from_machine, RBM_ERR_NULL},

    {"rbm_rng_get_state(buf NULL)", nb_rng_get_state, RBM_ERR_NULL},
    {"rbm_rng_set_state(buf NULL)", nb_rng_set_state, RBM_ERR_NULL},
    {"rbm_unit_sample(out NULL)", nb_unit_sample_out, RBM_ERR_NULL},
    {"rbm_unit_sample(field NULL)", nb_unit_sample_field, RBM_ERR_NULL},

    {"rbm_machine_get_weights(w NULL)", nb_get_weights, RBM_ERR_NULL},
    {"rbm_machine_set_weights(w NULL)", nb_set_weights, RBM_ERR_NULL},
    {"rbm_machine_get_visible_bias(a NULL)", nb_get_visible_bias, RBM_ERR_NULL},
    {"rbm_machine_set_visible_bias(a NULL)", nb_set_visible_bias, RBM_ERR_NULL},
    {"rbm_machine_get_hidden_bias(b NULL)", nb_get_hidden_bias, RBM_ERR_NULL},
    {"rbm_machine_set_hidden_bias(b NULL)", nb_set_hidden_bias, RBM_ERR_NULL},
    {"rbm_machine_energy(v NULL)", nb_energy_v, RBM_ERR_NULL},
    {"rbm_machine_energy(h NULL)", nb_energy_h, RBM_ERR_NULL},
    {"rbm_machine_energy(out NULL)", nb_energy_out, RBM_ERR_NULL},
    {"rbm_machine_free_energy(v NULL)", nb_free_energy_v, RBM_ERR_NULL},
    {"rbm_machine_free_energy(out NULL)", nb_free_energy_out, RBM_ERR_NULL},
    {"rbm_machine_free_energy_hidden(h NULL)", nb_free_energy_hidden_h, RBM_ERR_NULL},
    {"rbm_machine_free_energy_hidden(out NULL)", nb_free_energy_hidden_out, RBM_ERR_NULL},
    {"rbm_machine_hidden_mean(v NULL)", nb_hidden_mean_v, RBM_ERR_NULL},
    {"rbm_machine_hidden_mean(out NULL)", nb_hidden_mean_out, RBM_ERR_NULL},
    {"rbm_machine_visible_mean(h NULL)", nb_visible_mean_h, RBM_ERR_NULL},
    {"rbm_machine_visible_mean(out NULL)", nb_visible_mean_out, RBM_ERR_NULL},
    {"rbm_machine_sample_hidden(rng NULL)", nb_sample_hidden_rng, RBM_ERR_NULL},
    {"rbm_machine_sample_hidden(v NULL)", nb_sample_hidden_v, RBM_ERR_NULL},
    {"rbm_machine_sample_hidden(out NULL)", nb_sample_hidden_out, RBM_ERR_NULL},
    {"rbm_machine_sample_visible(rng NULL)", nb_sample_visible_rng, RBM_ERR_NULL},
    {"rbm_machine_sample_visible(h NULL)", nb_sample_visible_h, RBM_ERR_NULL},
    {"rbm_machine_sample_visible(out NULL)", nb_sample_visible_out, RBM_ERR_NULL},
    {"rbm_machine_save(path NULL)", nb_machine_save, RBM_ERR_NULL},

    {"rbm_dataset_get_rows(out NULL)", nb_get_rows, RBM_ERR_NULL},
    {"rbm_dataset_mean(out NULL)", nb_dataset_mean, RBM_ERR_NULL},
    {"rbm_dataset_covariance(out NULL)", nb_dataset_covariance, RBM_ERR_NULL},
    {"rbm_batch_iter_next(out NULL)", nb_batch_iter_next_out, RBM_ERR_NULL},
    {"rbm_batch_iter_next(rows NULL)", nb_batch_iter_next_rows, RBM_ERR_NULL},

    {"rbm_sampler_get_visible(out NULL)", nb_sampler_get_visible, RBM_ERR_NULL},
    {"rbm_sampler_get_hidden(out NULL)", nb_sampler_get_hidden, RBM_ERR_NULL},
    {"rbm_sampler_set_visible(v NULL)", nb_sampler_set_visible, RBM_ERR_NULL},

    {"rbm_gradient_get_weights(w NULL)", nb_gradient_get_weights, RBM_ERR_NULL},
    {"rbm_gradient_get_visible_bias(a NULL)", nb_gradient_get_visible_bias, RBM_ERR_NULL},
    {"rbm_gradient_get_hidden_bias(b NULL)", nb_gradient_get_hidden_bias, RBM_ERR_NULL},
    {"rbm_gradient_apply(m NULL)", nb_gradient_apply_machine, RBM_ERR_NULL},
    {"rbm_estimator_compute(v NULL)", nb_estimator_compute_v, RBM_ERR_NULL},
    {"rbm_estimator_compute(g NULL)", nb_estimator_compute_g, RBM_ERR_NULL},

    {"rbm_trainer_get_real(out NULL)", nb_trainer_get_real, RBM_ERR_NULL},
    {"rbm_trainer_get_int(out NULL)", nb_trainer_get_int, RBM_ERR_NULL},
    {"rbm_estimator_get_int(out NULL)", nb_estimator_get_int, RBM_ERR_NULL},
    {"rbm_trainer_save_checkpoint(path NULL)", nb_trainer_save_checkpoint, RBM_ERR_NULL},

    {"rbm_exact_log_z(log_z NULL)", nb_exact_log_z, RBM_ERR_NULL},
    {"rbm_mean_free_energy(out NULL)", nb_mean_free_energy, RBM_ERR_NULL},
    {"rbm_log_likelihood(out NULL)", nb_log_likelihood, RBM_ERR_NULL},
    {"rbm_exact_log_likelihood(mean_ll NULL)", nb_exact_log_likelihood, RBM_ERR_NULL},
    {"rbm_pseudo_log_likelihood(mean_pll NULL)", nb_pseudo_log_likelihood, RBM_ERR_NULL},
    {"rbm_reconstruction_error(out NULL)", nb_reconstruction_error, RBM_ERR_NULL},
    {"rbm_free_energy_gap(gap NULL)", nb_free_energy_gap, RBM_ERR_NULL},
    {"rbm_ais_set_schedule(betas NULL)", nb_ais_set_schedule, RBM_ERR_NULL},

    {"rbm_svd_get_singular_values(w NULL)", nb_svd_singular_values, RBM_ERR_NULL},
    {"rbm_svd_get_left_vectors(U NULL)", nb_svd_left_vectors, RBM_ERR_NULL},
    {"rbm_svd_get_right_vectors(V NULL)", nb_svd_right_vectors, RBM_ERR_NULL},
    {"rbm_svd_project_visible(x NULL)", nb_svd_project_visible_x, RBM_ERR_NULL},
    {"rbm_svd_project_visible(out NULL)", nb_svd_project_visible_out, RBM_ERR_NULL},
    {"rbm_svd_project_hidden(h NULL)", nb_svd_project_hidden_h, RBM_ERR_NULL},
    {"rbm_svd_project_hidden(out NULL)", nb_svd_project_hidden_out, RBM_ERR_NULL},
    {"rbm_svd_project_dataset(out NULL)", nb_svd_project_dataset, RBM_ERR_NULL},
    {"rbm_svd_pca_overlaps(out NULL)", nb_svd_pca_overlaps, RBM_ERR_NULL},
    {"rbm_svd_project_gradient(G NULL)", nb_svd_project_gradient, RBM_ERR_NULL},
    {"rbm_mode_tracker_write_csv(path NULL)", nb_mode_tracker_write_csv, RBM_ERR_NULL},

    {"rbm_linear_model_covariance(out NULL)", nb_linear_model_covariance, RBM_ERR_NULL},
    {"rbm_linear_gradient(C NULL)", nb_linear_gradient_C, RBM_ERR_NULL},
    {"rbm_linear_gradient(dW NULL)", nb_linear_gradient_dW, RBM_ERR_NULL},
    {"rbm_linear_integrate(C NULL)", nb_linear_integrate_C, RBM_ERR_NULL},
    {"rbm_linear_integrate(w_out NULL, n_out 2)", nb_linear_integrate_w_out, RBM_ERR_NULL},

    {"rbm_mf_get_real(out NULL)", nb_mf_get_real, RBM_ERR_NULL},
    {"rbm_mf_get_int(out NULL)", nb_mf_get_int, RBM_ERR_NULL},
    {"rbm_mf_solve(mv NULL)", nb_mf_solve_mv, RBM_ERR_NULL},
    {"rbm_mf_free_energy(mv NULL)", nb_mf_free_energy_mv, RBM_ERR_NULL},
    {"rbm_mf_free_energy(mh NULL)", nb_mf_free_energy_mh, RBM_ERR_NULL},
    {"rbm_mf_free_energy(gamma NULL)", nb_mf_free_energy_gamma, RBM_ERR_NULL},
    {"rbm_mf_gradient(mv NULL)", nb_mf_gradient_mv, RBM_ERR_NULL},
    {"rbm_mf_gradient(mh NULL)", nb_mf_gradient_mh, RBM_ERR_NULL},
    {"rbm_mf_gradient(gv NULL)", nb_mf_gradient_gv, RBM_ERR_NULL},
    {"rbm_mf_gradient(gh NULL)", nb_mf_gradient_gh, RBM_ERR_NULL},
    {"rbm_mf_hessian(mv NULL)", nb_mf_hessian_mv, RBM_ERR_NULL},
    {"rbm_mf_hessian(mh NULL)", nb_mf_hessian_mh, RBM_ERR_NULL},
    {"rbm_mf_hessian(hess NULL)", nb_mf_hessian_out, RBM_ERR_NULL},
    {"rbm_mf_variances(mv NULL)", nb_mf_variances_mv, RBM_ERR_NULL},
    {"rbm_mf_variances(mh NULL)", nb_mf_variances_mh, RBM_ERR_NULL},
    {"rbm_mf_weight_gradient(mv NULL)", nb_mf_weight_gradient_mv, RBM_ERR_NULL},
    {"rbm_mf_weight_gradient(mh NULL)", nb_mf_weight_gradient_mh, RBM_ERR_NULL},
    {"rbm_mf_weight_gradient(dw NULL)", nb_mf_weight_gradient_dw, RBM_ERR_NULL},
    {"rbm_mf_points_get_all_visible(mv NULL)", nb_mf_points_all_visible, RBM_ERR_NULL},
    {"rbm_mf_points_get_all_hidden(mh NULL)", nb_mf_points_all_hidden, RBM_ERR_NULL},

    {"rbm_ensemble_get_real(out NULL)", nb_ensemble_get_real, RBM_ERR_NULL},
    {"rbm_ensemble_get_int(out NULL)", nb_ensemble_get_int, RBM_ERR_NULL},
    {"rbm_ensemble_set_modes(w NULL)", nb_ensemble_set_modes, RBM_ERR_NULL},
    {"rbm_ensemble_get_modes(w NULL)", nb_ensemble_get_modes, RBM_ERR_NULL},
    {"rbm_ensemble_kurtosis_criterion(criterion NULL)", nb_ensemble_kurtosis_criterion,
     RBM_ERR_NULL},
    {"rbm_ensemble_diagram(x NULL)", nb_ensemble_diagram_x, RBM_ERR_NULL},
    {"rbm_ensemble_diagram(w1 NULL)", nb_ensemble_diagram_w1, RBM_ERR_NULL},
    {"rbm_ensemble_diagram(phase NULL)", nb_ensemble_diagram_phase, RBM_ERR_NULL},
};

static void test_null_pointer_detail(void **state)
{
    run_table(*state, "NULL pointer with a valid handle", null_pointer_rows,
              sizeof null_pointer_rows / sizeof null_pointer_rows[0], CHECK_DETAIL);
}

/* ---------------------------------------------------------------------- */
/* table 3: functions without a handle (no context, status only)           */
/* ---------------------------------------------------------------------- */

CALL(np_context_new, rbm_context_new(NULL))
CALL(np_context_new_with_allocator, rbm_context_new_with_allocator(fx_alloc, fx_free, f, NULL))
CALL(np_unit_kind_parse_out, rbm_unit_kind_parse("bernoulli", NULL))
CALL(np_unit_kind_parse_name, rbm_unit_kind_parse(NULL, &f->kind))
CALL(np_unit_eval_field, rbm_unit_eval(BERN, 1.0, 1, NULL, f->buf, 1, NULL, 0, NULL, 0))
CALL(np_unit_sample_rng, rbm_unit_sample(BERN, 1.0, 1, f->v, NULL, f->buf, 1))
CALL(np_estimator_kind_parse_out, rbm_estimator_kind_parse("cd", NULL))
CALL(np_estimator_kind_parse_name, rbm_estimator_kind_parse(NULL, &f->ekind))
CALL(np_optimizer_parse_out, rbm_optimizer_parse("sgd", NULL))
CALL(np_optimizer_parse_name, rbm_optimizer_parse(NULL, &f->opt))
CALL(np_mf_method_parse_out, rbm_mf_method_parse("naive", NULL))
CALL(np_mf_method_parse_name, rbm_mf_method_parse(NULL, &f->method))
CALL(np_component_law_parse_out, rbm_component_law_parse("gaussian", NULL))
CALL(np_component_law_parse_name, rbm_component_law_parse(NULL, &f->law))
CALL(np_phase_line_pf, rbm_phase_line_pf(0.5, 1.0, NULL))
CALL(np_phase_line_psg, rbm_phase_line_psg(1.0, 0.5, NULL))
CALL(np_phase_line_fsg, rbm_phase_line_fsg(1.0, 1.0, 0.5, NULL, NULL, NULL))
CALL(np_linear_fixed_points_lambda, rbm_linear_fixed_points(NULL, 1, 1.0, 1.0, f->buf, 1))
CALL(np_linear_fixed_points_w, rbm_linear_fixed_points(f->lambda, 1, 1.0, 1.0, NULL, 0))
CALL(np_linear_mode_trajectory, rbm_linear_mode_trajectory(2.0, 1.0, 1.0, 0.1, 1.0, NULL))

static const row no_handle_rows[] = {
    {"rbm_context_new(out NULL)", np_context_new, RBM_ERR_NULL},
    {"rbm_context_new_with_allocator(out NULL)", np_context_new_with_allocator, RBM_ERR_NULL},
    {"rbm_unit_kind_parse(out NULL)", np_unit_kind_parse_out, RBM_ERR_NULL},
    {"rbm_unit_kind_parse(name NULL)", np_unit_kind_parse_name, RBM_ERR_NULL},
    {"rbm_unit_eval(field NULL, n 1)", np_unit_eval_field, RBM_ERR_NULL},
    {"rbm_unit_sample(rng NULL)", np_unit_sample_rng, RBM_ERR_NULL},
    {"rbm_estimator_kind_parse(out NULL)", np_estimator_kind_parse_out, RBM_ERR_NULL},
    {"rbm_estimator_kind_parse(name NULL)", np_estimator_kind_parse_name, RBM_ERR_NULL},
    {"rbm_optimizer_parse(out NULL)", np_optimizer_parse_out, RBM_ERR_NULL},
    {"rbm_optimizer_parse(name NULL)", np_optimizer_parse_name, RBM_ERR_NULL},
    {"rbm_mf_method_parse(out NULL)", np_mf_method_parse_out, RBM_ERR_NULL},
    {"rbm_mf_method_parse(name NULL)", np_mf_method_parse_name, RBM_ERR_NULL},
    {"rbm_component_law_parse(out NULL)", np_component_law_parse_out, RBM_ERR_NULL},
    {"rbm_component_law_parse(name NULL)", np_component_law_parse_name, RBM_ERR_NULL},
    {"rbm_phase_line_pf(w_c NULL)", np_phase_line_pf, RBM_ERR_NULL},
    {"rbm_phase_line_psg(t_c NULL)", np_phase_line_psg, RBM_ERR_NULL},
    {"rbm_phase_line_fsg(w_c NULL)", np_phase_line_fsg, RBM_ERR_NULL},
    {"rbm_linear_fixed_points(lambda NULL)", np_linear_fixed_points_lambda, RBM_ERR_NULL},
    {"rbm_linear_fixed_points(w_star NULL)", np_linear_fixed_points_w, RBM_ERR_NULL},
    {"rbm_linear_mode_trajectory(w_t NULL)", np_linear_mode_trajectory, RBM_ERR_NULL},
};

static void test_no_handle_null_pointer(void **state)
{
    run_table(*state, "NULL pointer, no handle", no_handle_rows,
              sizeof no_handle_rows / sizeof no_handle_rows[0], CHECK_STATUS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constructors_null_parent),
        cmocka_unit_test(test_constructors_bad_argument),
        cmocka_unit_test(test_null_pointer_detail),
        cmocka_unit_test(test_no_handle_null_pointer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
