/* A refused step changes nothing: after a training step (or an estimator
 * computation, or rbm_gradient_apply) fails, the complete training state --
 * parameters, optimiser moments and powers, counters, chains, particles, rng
 * streams -- is bit for bit what it was, and the run continues exactly as a
 * run that never tried the refused step. The state is compared as the bytes
 * of a checkpoint, which holds all of it (docs/file-format.md).
 *
 * Also: Adam with small betas checkpoints and resumes at any step, hostile
 * checkpoints that break an invariant the update relies on do not load, and
 * parameter limits follow the machine's precision. */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { NV = 8, NH = 4, ROWS = 48, BATCH = 16 };

static char dir[64];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/rbm-refused-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_all(const char *path, const unsigned char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* The complete state of t as checkpoint bytes. */
static unsigned char *state_of(rbm_context *ctx, rbm_trainer *t, size_t *n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/state.ckpt", dir);
    RBM_OKAY(ctx, rbm_trainer_save_checkpoint(t, path));
    unsigned char *p = rbm_test_read_file(path, n);
    unlink(path);
    return p;
}

static void assert_same_state(const unsigned char *a, size_t na, const unsigned char *b,
                              size_t nb, const char *what)
{
    if (na != nb)
        fail_msg("%s: state has %zu bytes, expected %zu", what, nb, na);
    for (size_t i = 0; i < na; i++)
        if (a[i] != b[i])
            fail_msg("%s: state differs at byte %zu of %zu", what, i, na);
}

typedef struct config {
    rbm_unit_kind vk, hk;
    rbm_estimator_kind est;
    rbm_optimizer opt;
    rbm_precision prec;
    double b1, b2; /* Adam betas (0: default) */
} config;

static const char *describe(const config *c, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s-%s %s %s %s b1 %g b2 %g", rbm_unit_kind_name(c->vk),
             rbm_unit_kind_name(c->hk), rbm_estimator_kind_name(c->est),
             c->opt == RBM_OPTIMIZER_SGD ? "sgd" : c->opt == RBM_OPTIMIZER_MOMENTUM ? "momentum"
                                                                                      : "adam",
             c->prec == RBM_PRECISION_FLOAT32 ? "f32" : "f64", c->b1, c->b2);
    return buf;
}

static void make_run(rbm_context *ctx, const config *c, rbm_dataset **d, rbm_machine **m,
                     rbm_trainer **t)
{
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, ROWS, 3, 2, NV, 0.1, c->vk, 5, d));
    RBM_OKAY(ctx, rbm_machine_new(ctx, NV, NH, c->vk, c->hk, m));
    RBM_OKAY(ctx, rbm_machine_set_precision(*m, c->prec));
    RBM_OKAY(ctx, rbm_machine_init_normal(*m, 0.1, 3));
    RBM_OKAY(ctx, rbm_trainer_new(*m, *d, BATCH, 77, t));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(*t, c->est, 2));
    RBM_OKAY(ctx, rbm_trainer_set_optimizer(*t, c->opt));
    RBM_OKAY(ctx, rbm_trainer_set_real(*t, RBM_TRAINER_LEARNING_RATE, 0.02));
    RBM_OKAY(ctx, rbm_trainer_set_int(*t, RBM_TRAINER_MONITOR_EVERY, 1));
    if (c->b1 > 0 || c->b2 > 0) {
        RBM_OKAY(ctx, rbm_trainer_set_real(*t, RBM_TRAINER_ADAM_BETA1, c->b1));
        RBM_OKAY(ctx, rbm_trainer_set_real(*t, RBM_TRAINER_ADAM_BETA2, c->b2));
    }
}

static void steps(rbm_context *ctx, rbm_trainer *t, int n)
{
    for (int i = 0; i < n; i++) {
        rbm_status st = rbm_trainer_step(t);
        if (st != RBM_OK && st != RBM_DONE)
            fail_msg("step %d: %s (%s)", i, rbm_status_name(st), rbm_context_last_error(ctx));
    }
}

/* How a step is made to fail. */
typedef enum poison {
    POISON_LR,      /* learning rate 1e308: the optimiser refuses the update */
    POISON_WEIGHTS, /* huge weights: the estimator's statistics are not finite */
    POISON_BOUND    /* learning rate 10 on a Gauss-Gauss machine: Z would diverge */
} poison;

/* Weights that make the estimator's statistics of c overflow. */
static double poison_weight(const config *c)
{
    /* The fields (and w^2) overflow, so the statistics of Gibbs chains with a
     * Gaussian layer, of the particles and of the enumeration are not
     * finite; where a kind's statistics saturate finitely instead (TAP on
     * Bernoulli units) the update refuses to move a parameter that is
     * already beyond the training limit. Either way the step is refused. */
    (void)c;
    return c->prec == RBM_PRECISION_FLOAT32 ? 3e38 : 1e308;
}

/* 3 good steps; then a step that must be refused; the state must be as
 * before it, and one more good step must equal the step of a run that never
 * tried the refused one. */
static void refused_case(const config *c, poison how)
{
    char name[160];
    describe(c, name, sizeof name);
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *d, *d2;
    rbm_machine *m, *m2;
    rbm_trainer *t, *t2;
    make_run(ctx, c, &d, &m, &t);
    make_run(ctx, c, &d2, &m2, &t2);
    steps(ctx, t, 3);
    steps(ctx, t2, 3);
    size_t na, nb, nc, nr;
    unsigned char *before = state_of(ctx, t, &na);
    double W[NV * NH], huge[NV * NH];
    RBM_OKAY(ctx, rbm_machine_get_weights(m, W, NV * NH));
    if (how != POISON_WEIGHTS) {
        RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE,
                                           how == POISON_LR ? 1e308 : 10.0));
    } else {
        for (int i = 0; i < NV * NH; i++)
            huge[i] = poison_weight(c);
        RBM_OKAY(ctx, rbm_machine_set_weights(m, huge, NV * NH));
    }
    const rbm_status want = how == POISON_BOUND ? RBM_ERR_NOT_NORMALIZABLE : RBM_ERR_NUMERICAL;
    for (int attempt = 0; attempt < 2; attempt++) {
        rbm_status st = rbm_trainer_step(t);
        if (st != want)
            fail_msg("%s (poison %d): step returned %s, expected %s (%s)", name, (int)how,
                     rbm_status_name(st), rbm_status_name(want), rbm_context_last_error(ctx));
    }
    if (how != POISON_BOUND)
        assert_non_null(strstr(rbm_context_last_error(ctx), "left as they were"));
    if (how != POISON_WEIGHTS)
        RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, 0.02));
    else
        RBM_OKAY(ctx, rbm_machine_set_weights(m, W, NV * NH));
    unsigned char *after = state_of(ctx, t, &nb);
    assert_same_state(before, na, after, nb, name);
    steps(ctx, t, 1);
    steps(ctx, t2, 1);
    unsigned char *cont = state_of(ctx, t, &nc), *ref = state_of(ctx, t2, &nr);
    assert_same_state(ref, nr, cont, nc, name);
    /* and what was saved loads */
    char path[128];
    snprintf(path, sizeof path, "%s/cont.ckpt", dir);
    write_all(path, cont, nc);
    rbm_machine *m3 = NULL;
    rbm_trainer *t3 = NULL;
    RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, path, d, &m3, &t3));
    rbm_trainer_free(t3);
    rbm_machine_free(m3);
    unlink(path);
    free(before);
    free(after);
    free(cont);
    free(ref);
    rbm_trainer_free(t);
    rbm_trainer_free(t2);
    rbm_machine_free(m);
    rbm_machine_free(m2);
    rbm_dataset_free(d);
    rbm_dataset_free(d2);
    rbm_context_free(ctx);
}

static const rbm_estimator_kind kinds[] = {RBM_ESTIMATOR_CD,  RBM_ESTIMATOR_PCD,
                                           RBM_ESTIMATOR_EXACT, RBM_ESTIMATOR_MF,
                                           RBM_ESTIMATOR_TAP2, RBM_ESTIMATOR_TAP3};
static const rbm_optimizer opts[] = {RBM_OPTIMIZER_SGD, RBM_OPTIMIZER_MOMENTUM,
                                     RBM_OPTIMIZER_ADAM};
static const rbm_precision precs[] = {RBM_PRECISION_FLOAT64, RBM_PRECISION_FLOAT32};

/* Every estimator kind x optimiser x precision: the optimiser refuses. */
static void test_refused_update_every_kind(void **state)
{
    (void)state;
    for (size_t k = 0; k < 6; k++)
        for (size_t o = 0; o < 3; o++)
            for (size_t p = 0; p < 2; p++) {
                config c = {RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, kinds[k], opts[o], precs[p],
                            0, 0};
                refused_case(&c, POISON_LR);
            }
    /* Adam with beta2 = 0: undoing the powers divided 0 by 0 */
    config z = {RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_PCD, RBM_OPTIMIZER_ADAM,
                RBM_PRECISION_FLOAT64, 0.9, 0.0};
    refused_case(&z, POISON_LR);
    /* a Gauss-Gauss machine: the normalisability check refuses */
    config gg = {RBM_UNIT_GAUSSIAN, RBM_UNIT_GAUSSIAN, RBM_ESTIMATOR_PCD, RBM_OPTIMIZER_ADAM,
                 RBM_PRECISION_FLOAT64, 0, 0};
    refused_case(&gg, POISON_LR);
    /* ... and its normalisability check refuses: the moments used to advance */
    for (size_t o = 0; o < 3; o++) {
        config g2 = {RBM_UNIT_GAUSSIAN, RBM_UNIT_GAUSSIAN, RBM_ESTIMATOR_PCD, opts[o],
                     RBM_PRECISION_FLOAT64, 0, 0};
        refused_case(&g2, POISON_BOUND);
    }
}

/* The estimator's own statistics are not finite: the chains (PCD), the
 * particles (MF/TAP) and the rng streams it had already moved go back. */
static void test_refused_statistics(void **state)
{
    (void)state;
    for (size_t o = 0; o < 3; o++)
        for (size_t p = 0; p < 2; p++) {
            /* Gibbs kinds and naive MF: a Gaussian visible layer whose fields overflow */
            const rbm_estimator_kind gauss_kinds[] = {RBM_ESTIMATOR_CD, RBM_ESTIMATOR_PCD,
                                                      RBM_ESTIMATOR_MF};
            for (size_t k = 0; k < 3; k++) {
                config c = {RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, gauss_kinds[k], opts[o],
                            precs[p], 0, 0};
                refused_case(&c, POISON_WEIGHTS);
            }
            /* TAP2/TAP3: w^2 overflows; exact: the enumerated weights overflow */
            const rbm_estimator_kind bern_kinds[] = {RBM_ESTIMATOR_TAP2, RBM_ESTIMATOR_TAP3,
                                                     RBM_ESTIMATOR_EXACT};
            for (size_t k = 0; k < 3; k++) {
                config c = {RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, bern_kinds[k], opts[o],
                            precs[p], 0, 0};
                refused_case(&c, POISON_WEIGHTS);
            }
        }
}

/* rbm_estimator_compute that fails leaves the estimator and the caller's
 * gradient as they were; rbm_gradient_apply that would leave the limit
 * leaves the machine as it was. */
static void test_refused_public_calls(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m, *m2;
    RBM_OKAY(ctx, rbm_machine_new(ctx, NV, NH, RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, &m));
    RBM_OKAY(ctx, rbm_machine_init_normal(m, 0.1, 3));
    RBM_OKAY(ctx, rbm_machine_clone(m, &m2));
    rbm_estimator *e, *e2;
    RBM_OKAY(ctx, rbm_estimator_new(m, RBM_ESTIMATOR_PCD, 4, 9, &e));
    RBM_OKAY(ctx, rbm_estimator_new(m2, RBM_ESTIMATOR_PCD, 4, 9, &e2));
    rbm_gradient *g, *g2;
    RBM_OKAY(ctx, rbm_gradient_new(m, &g));
    RBM_OKAY(ctx, rbm_gradient_new(m2, &g2));
    double v[4 * NV];
    for (int i = 0; i < 4 * NV; i++)
        v[i] = (double)(i % 5) * 0.25 - 0.5;
    RBM_OKAY(ctx, rbm_estimator_compute(e, 4, v, 4 * NV, g));
    RBM_OKAY(ctx, rbm_estimator_compute(e2, 4, v, 4 * NV, g2));
    double g_before[NV * NH], g_after[NV * NH], W[NV * NH], huge[NV * NH];
    RBM_OKAY(ctx, rbm_gradient_get_weights(g, g_before, NV * NH));
    RBM_OKAY(ctx, rbm_machine_get_weights(m, W, NV * NH));
    for (int i = 0; i < NV * NH; i++)
        huge[i] = 1e308;
    RBM_OKAY(ctx, rbm_machine_set_weights(m, huge, NV * NH));
    RBM_CHECK(ctx, rbm_estimator_compute(e, 4, v, 4 * NV, g), RBM_ERR_NUMERICAL);
    RBM_OKAY(ctx, rbm_gradient_get_weights(g, g_after, NV * NH));
    assert_memory_equal(g_before, g_after, sizeof g_before);
    RBM_OKAY(ctx, rbm_machine_set_weights(m, W, NV * NH));
    /* the chains went back: the next computation equals the reference's */
    RBM_OKAY(ctx, rbm_estimator_compute(e, 4, v, 4 * NV, g));
    RBM_OKAY(ctx, rbm_estimator_compute(e2, 4, v, 4 * NV, g2));
    double a1[NV * NH], a2[NV * NH];
    RBM_OKAY(ctx, rbm_gradient_get_weights(g, a1, NV * NH));
    RBM_OKAY(ctx, rbm_gradient_get_weights(g2, a2, NV * NH));
    assert_memory_equal(a1, a2, sizeof a1);
    double chains1[4 * NV], chains2[4 * NV];
    RBM_OKAY(ctx, rbm_sampler_get_visible(rbm_estimator_sampler(e), chains1, 4 * NV));
    RBM_OKAY(ctx, rbm_sampler_get_visible(rbm_estimator_sampler(e2), chains2, 4 * NV));
    assert_memory_equal(chains1, chains2, sizeof chains1);

    /* rbm_gradient_apply beyond the float64 limit */
    RBM_CHECK(ctx, rbm_gradient_apply(g, m, 1e304), RBM_ERR_NUMERICAL);
    assert_non_null(strstr(rbm_context_last_error(ctx), "unchanged"));
    double W2[NV * NH];
    RBM_OKAY(ctx, rbm_machine_get_weights(m, W2, NV * NH));
    assert_memory_equal(W, W2, sizeof W);
    rbm_gradient_free(g);
    rbm_gradient_free(g2);
    rbm_estimator_free(e);
    rbm_estimator_free(e2);
    rbm_machine_free(m);
    rbm_machine_free(m2);
    rbm_context_free(ctx);
}

/* Adam with betas in [0, 0.5): beta^t reached 0 and the checkpoints of every
 * later step did not load. Resume at step 1100 (beta1 = 0.5 underflows after
 * 1075 steps) must equal the straight run. */
static void test_adam_small_betas_resume(void **state)
{
    (void)state;
    const double betas[3][2] = {{0.5, 0.3}, {0.0, 0.0}, {0.3, 0.999}};
    for (int b = 0; b < 3; b++) {
        rbm_context *ctx = rbm_test_context();
        config c = {RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_CD, RBM_OPTIMIZER_ADAM,
                    RBM_PRECISION_FLOAT64, betas[b][0], betas[b][1]};
        rbm_dataset *d;
        rbm_machine *m;
        rbm_trainer *t;
        make_run(ctx, &c, &d, &m, &t);
        RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_ADAM_BETA1, betas[b][0]));
        RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_ADAM_BETA2, betas[b][1]));
        RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, 1e-3));
        steps(ctx, t, 1100);
        char path[128];
        snprintf(path, sizeof path, "%s/adam.ckpt", dir);
        RBM_OKAY(ctx, rbm_trainer_save_checkpoint(t, path));
        rbm_machine *m2 = NULL;
        rbm_trainer *t2 = NULL;
        RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, path, d, &m2, &t2));
        steps(ctx, t, 40);
        steps(ctx, t2, 40);
        size_t n1, n2;
        unsigned char *s1 = state_of(ctx, t, &n1), *s2 = state_of(ctx, t2, &n2);
        assert_same_state(s1, n1, s2, n2, "adam resume");
        free(s1);
        free(s2);
        unlink(path);
        rbm_trainer_free(t2);
        rbm_machine_free(m2);
        rbm_trainer_free(t);
        rbm_machine_free(m);
        rbm_dataset_free(d);
        rbm_context_free(ctx);
    }
}

/* ... and for 10^6 steps: a checkpoint every 10^5 steps loads and its run
 * continues as the straight one (a small machine, so this stays fast). */
static void test_adam_million_steps(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_dataset *d;
    rbm_machine *m;
    rbm_trainer *t;
    RBM_OKAY(ctx, rbm_dataset_synthetic(ctx, 8, 2, 2, 3, 0.1, RBM_UNIT_BERNOULLI, 5, &d));
    RBM_OKAY(ctx, rbm_machine_new(ctx, 3, 2, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    RBM_OKAY(ctx, rbm_machine_init_normal(m, 0.1, 3));
    RBM_OKAY(ctx, rbm_trainer_new(m, d, 8, 77, &t));
    RBM_OKAY(ctx, rbm_trainer_set_estimator(t, RBM_ESTIMATOR_CD, 1));
    RBM_OKAY(ctx, rbm_trainer_set_optimizer(t, RBM_OPTIMIZER_ADAM));
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_ADAM_BETA1, 0.5));
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_ADAM_BETA2, 0.3));
    RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, 1e-4));
    char path[128];
    snprintf(path, sizeof path, "%s/million.ckpt", dir);
    for (int block = 0; block < 10; block++) {
        steps(ctx, t, 100000);
        RBM_OKAY(ctx, rbm_trainer_save_checkpoint(t, path));
        rbm_machine *m2 = NULL;
        rbm_trainer *t2 = NULL;
        RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, path, d, &m2, &t2));
        steps(ctx, t2, 3);
        rbm_trainer *probe = NULL;
        rbm_machine *mp = NULL;
        RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, path, d, &mp, &probe));
        steps(ctx, probe, 3);
        size_t n1, n2;
        unsigned char *s1 = state_of(ctx, t2, &n1), *s2 = state_of(ctx, probe, &n2);
        assert_same_state(s1, n1, s2, n2, "million-step resume");
        free(s1);
        free(s2);
        rbm_trainer_free(probe);
        rbm_machine_free(mp);
        rbm_trainer_free(t2);
        rbm_machine_free(m2);
    }
    assert_true(rbm_trainer_step_count(t) == 1000000);
    unlink(path);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(d);
    rbm_context_free(ctx);
}

/* ---------------- hostile checkpoints ---------------- */

static void put_u32(unsigned char *p, uint32_t x)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(x >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t x)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(x >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = x << 8 | p[i];
    return x;
}

static void put_f64(unsigned char *p, double x)
{
    uint64_t u;
    memcpy(&u, &x, 8);
    put_u64(p, u);
}

/* Offset of the TRNS section header in a checkpoint (24-byte file header,
 * 24-byte section headers, docs/file-format.md). */
static size_t trns_at(const unsigned char *f, size_t n)
{
    size_t at = 24;
    while (at + 24 <= n) {
        if (memcmp(f + at, "TRNS", 4) == 0)
            return at;
        at += 24 + (size_t)get_u64(f + at + 8);
    }
    fail_msg("no TRNS section");
    return 0;
}

static void fix_section_crc(unsigned char *f, size_t at)
{
    uint64_t len = get_u64(f + at + 8);
    uint32_t crc = rbm_test_crc32(0, f + at, 20);
    crc = rbm_test_crc32(crc, f + at + 24, (size_t)len);
    put_u32(f + at + 20, crc);
}

/* Load a patched copy of the checkpoint bytes; must fail with BAD_FORMAT and
 * a message containing want. */
static void expect_refused(rbm_context *ctx, const unsigned char *f, size_t n,
                           const rbm_dataset *d, const char *want)
{
    char path[128];
    snprintf(path, sizeof path, "%s/hostile.ckpt", dir);
    write_all(path, f, n);
    rbm_machine *m = NULL;
    rbm_trainer *t = NULL;
    rbm_status st = rbm_trainer_load_checkpoint(ctx, path, d, &m, &t);
    if (st != RBM_ERR_BAD_FORMAT)
        fail_msg("hostile checkpoint (%s) loaded with %s", want, rbm_status_name(st));
    if (!strstr(rbm_context_last_error(ctx), want))
        fail_msg("message '%s' does not mention '%s'", rbm_context_last_error(ctx), want);
    assert_null(m);
    assert_null(t);
    unlink(path);
}

static void test_hostile_checkpoints(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    config c = {RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_PCD, RBM_OPTIMIZER_ADAM,
                RBM_PRECISION_FLOAT64, 0, 0};
    rbm_dataset *d;
    rbm_machine *m;
    rbm_trainer *t;
    make_run(ctx, &c, &d, &m, &t);
    steps(ctx, t, 5);
    size_t n;
    unsigned char *good = state_of(ctx, t, &n);
    unsigned char *f = xzalloc(2 * n + 64);
    const size_t at = trns_at(good, n), pay = at + 24;
    const size_t np = NV * NH + NV + NH;
    const size_t x = 284 + 8 * ROWS;  /* first moments flag */
    const size_t y = x + 4 + 8 * np;  /* second moments flag */

    /* the untouched bytes load (the patching below is what breaks them) */
    memcpy(f, good, n);
    fix_section_crc(f, at);
    {
        char path[128];
        snprintf(path, sizeof path, "%s/good.ckpt", dir);
        write_all(path, f, n);
        rbm_machine *m2 = NULL;
        rbm_trainer *t2 = NULL;
        RBM_OKAY(ctx, rbm_trainer_load_checkpoint(ctx, path, d, &m2, &t2));
        rbm_trainer_free(t2);
        rbm_machine_free(m2);
        unlink(path);
    }

    /* a negative Adam second moment */
    memcpy(f, good, n);
    put_f64(f + pay + y + 4 + 8 * (NV * NH + 1), -1e-3); /* a[1] */
    fix_section_crc(f, at);
    expect_refused(ctx, f, n, d, "second moment a[1]");

    /* a first moment no gradient sequence can produce: |m| > K sqrt(s) */
    memcpy(f, good, n);
    put_f64(f + pay + x + 4 + 8 * 3, 1e6); /* W[3] */
    fix_section_crc(f, at);
    expect_refused(ctx, f, n, d, "first moment W[3]");

    /* a NaN cached normal deviate in the estimator's rng */
    memcpy(f, good, n);
    put_u64(f + pay + 236 + 32, 1);
    put_f64(f + pay + 236 + 40, NAN);
    fix_section_crc(f, at);
    expect_refused(ctx, f, n, d, "estimator rng");

    /* k = 2^40: the step would never return */
    memcpy(f, good, n);
    put_u64(f + pay + 64, (uint64_t)1 << 40);
    fix_section_crc(f, at);
    expect_refused(ctx, f, n, d, "k = 1099511627776");

    /* a monitor interval beyond its documented bound */
    memcpy(f, good, n);
    put_u64(f + pay + 132, (uint64_t)1 << 33);
    fix_section_crc(f, at);
    expect_refused(ctx, f, n, d, "monitor interval");

    /* a second TRNS section (file header: section count 4, CRC of bytes 0..19) */
    memcpy(f, good, n);
    size_t sec = n - at;
    memcpy(f + n, good + at, sec);
    put_u32(f + 12, 4);
    put_u32(f + 20, rbm_test_crc32(0, f, 20));
    expect_refused(ctx, f, n + sec, d, "appears a second time");

    free(f);
    free(good);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(d);
    rbm_context_free(ctx);
}

/* ---------------- limits follow the precision ---------------- */

static void test_precision_limits(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    rbm_machine *m;
    RBM_OKAY(ctx, rbm_machine_new(ctx, NV, NH, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &m));
    double w[NV * NH] = {0};
    w[5] = 8.8e39; /* finite as a double, infinite as a float */
    RBM_OKAY(ctx, rbm_machine_set_weights(m, w, NV * NH));
    RBM_CHECK(ctx, rbm_machine_set_precision(m, RBM_PRECISION_FLOAT32), RBM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(rbm_context_last_error(ctx), "weights[5]"));
    assert_int_equal(rbm_machine_precision(m), RBM_PRECISION_FLOAT64);
    w[5] = 0;
    RBM_OKAY(ctx, rbm_machine_set_weights(m, w, NV * NH));
    RBM_OKAY(ctx, rbm_machine_set_precision(m, RBM_PRECISION_FLOAT32));
    double a[NV] = {0};
    a[2] = -(double)FLT_MAX * 1.01;
    RBM_CHECK(ctx, rbm_machine_set_visible_bias(m, a, NV), RBM_ERR_INVALID_ARGUMENT);
    a[2] = -(double)FLT_MAX; /* the largest float is held */
    RBM_OKAY(ctx, rbm_machine_set_visible_bias(m, a, NV));
    rbm_machine_free(m);

    /* float32 training stops at RBM_TRAIN_PARAM_MAX_F32, float64 at _F64 */
    for (size_t p = 0; p < 2; p++) {
        config c = {RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_PCD, RBM_OPTIMIZER_ADAM,
                    precs[p], 0, 0};
        rbm_dataset *d;
        rbm_trainer *t;
        make_run(ctx, &c, &d, &m, &t);
        const double lim = precs[p] == RBM_PRECISION_FLOAT32 ? RBM_TRAIN_PARAM_MAX_F32
                                                              : RBM_TRAIN_PARAM_MAX_F64;
        /* Adam moves each parameter by about lr per step */
        RBM_OKAY(ctx, rbm_trainer_set_real(t, RBM_TRAINER_LEARNING_RATE, lim * 0.6));
        rbm_status st = RBM_OK;
        int ok = 0;
        for (int i = 0; i < 20 && (st == RBM_OK || st == RBM_DONE); i++)
            if ((st = rbm_trainer_step(t)) == RBM_OK || st == RBM_DONE)
                ok++;
        assert_int_equal(st, RBM_ERR_NUMERICAL);
        assert_true(ok >= 1);
        double W[NV * NH], A[NV], B[NH];
        RBM_OKAY(ctx, rbm_machine_get_weights(m, W, NV * NH));
        RBM_OKAY(ctx, rbm_machine_get_visible_bias(m, A, NV));
        RBM_OKAY(ctx, rbm_machine_get_hidden_bias(m, B, NH));
        for (int i = 0; i < NV * NH; i++)
            assert_true(fabs(W[i]) <= lim);
        for (int i = 0; i < NV; i++)
            assert_true(fabs(A[i]) <= lim);
        for (int i = 0; i < NH; i++)
            assert_true(fabs(B[i]) <= lim);
        /* and the machine still evaluates to finite free energies */
        double v[NV] = {0}, fe;
        RBM_OKAY(ctx, rbm_machine_free_energy(m, 1, v, NV, &fe, 1));
        assert_true(isfinite(fe));
        rbm_trainer_free(t);
        rbm_machine_free(m);
        rbm_dataset_free(d);
    }
    rbm_context_free(ctx);
}

/* A checkpoint that would not load is not written: chains driven to Inf
 * through the estimator's public sampler make the save fail, and the old
 * checkpoint stays. */
static void test_save_refuses_unloadable_state(void **state)
{
    (void)state;
    rbm_context *ctx = rbm_test_context();
    config c = {RBM_UNIT_GAUSSIAN, RBM_UNIT_BERNOULLI, RBM_ESTIMATOR_PCD, RBM_OPTIMIZER_SGD,
                RBM_PRECISION_FLOAT64, 0, 0};
    rbm_dataset *d;
    rbm_machine *m;
    rbm_trainer *t;
    make_run(ctx, &c, &d, &m, &t);
    steps(ctx, t, 2);
    char path[128];
    snprintf(path, sizeof path, "%s/keep.ckpt", dir);
    RBM_OKAY(ctx, rbm_trainer_save_checkpoint(t, path));
    size_t n0, n1;
    unsigned char *old = rbm_test_read_file(path, &n0);
    double W[NV * NH], huge[NV * NH];
    RBM_OKAY(ctx, rbm_machine_get_weights(m, W, NV * NH));
    for (int i = 0; i < NV * NH; i++)
        huge[i] = 1e308;
    RBM_OKAY(ctx, rbm_machine_set_weights(m, huge, NV * NH));
    rbm_sampler *s = rbm_estimator_sampler(rbm_trainer_estimator(t));
    assert_non_null(s);
    RBM_OKAY(ctx, rbm_sampler_run(s, 1)); /* the public sweep does not judge the chains */
    RBM_OKAY(ctx, rbm_machine_set_weights(m, W, NV * NH));
    RBM_CHECK(ctx, rbm_trainer_save_checkpoint(t, path), RBM_ERR_STATE);
    assert_non_null(strstr(rbm_context_last_error(ctx), "chain visible state"));
    unsigned char *now = rbm_test_read_file(path, &n1);
    assert_same_state(old, n0, now, n1, "old checkpoint");
    free(old);
    free(now);
    rbm_trainer_free(t);
    rbm_machine_free(m);
    rbm_dataset_free(d);
    rbm_context_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_update_every_kind),
        cmocka_unit_test(test_refused_statistics),
        cmocka_unit_test(test_refused_public_calls),
        cmocka_unit_test(test_adam_small_betas_resume),
        cmocka_unit_test(test_adam_million_steps),
        cmocka_unit_test(test_hostile_checkpoints),
        cmocka_unit_test(test_precision_limits),
        cmocka_unit_test(test_save_refuses_unloadable_state),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
