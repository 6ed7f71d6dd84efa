/* Tests of data-parallel training (trainer.h, "Data-parallel training"):
 * one worker is the plain trainer bit for bit; P = 2, 3 virtual workers
 * equal a reference written here from the documented partition with the
 * public building blocks (rng, estimators, gradients); P trainers in
 * threads joined by a collective written here equal P virtual workers,
 * models and checkpoints byte for byte; checkpoints resume bit for bit; a
 * failing collective changes nothing; bad arguments. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NV 9
#define NH 5
#define SEED 77
#define LR 0.05
#define MAXP 4

/* N rows of {0,1} data, not a multiple of the batch sizes used below. */
static double *make_rows(size_t N)
{
    double *x = xzalloc(N * NV * sizeof(double));
    r_seed(5);
    for (size_t i = 0; i < N * NV; i++)
        x[i] = r_unif() < (i % NV < 4 ? 0.8 : 0.3);
    return x;
}

typedef struct run {
    rbm_context *ctx;
    rbm_dataset *ds;
    rbm_machine *m;
    rbm_trainer *t;
} run;

static void run_new(run *r, const double *x, size_t N, size_t B, rbm_precision prec)
{
    r->ctx = rbm_test_context();
    RBM_OKAY(r->ctx, rbm_dataset_from_memory(r->ctx, x, RBM_DTYPE_FLOAT64, N, NV, RBM_COPY, &r->ds));
    RBM_OKAY(r->ctx, rbm_machine_new(r->ctx, NV, NH, RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI, &r->m));
    RBM_OKAY(r->ctx, rbm_machine_set_precision(r->m, prec));
    RBM_OKAY(r->ctx, rbm_machine_init_normal(r->m, 0.1, 3));
    RBM_OKAY(r->ctx, rbm_trainer_new(r->m, r->ds, B, SEED, &r->t));
    RBM_OKAY(r->ctx, rbm_trainer_set_estimator(r->t, RBM_ESTIMATOR_PCD, 2));
    RBM_OKAY(r->ctx, rbm_trainer_set_real(r->t, RBM_TRAINER_LEARNING_RATE, LR));
}

static void run_free(run *r)
{
    rbm_trainer_free(r->t);
    rbm_machine_free(r->m);
    rbm_dataset_free(r->ds);
    rbm_context_free(r->ctx);
}

static void steps(run *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rbm_status st = rbm_trainer_step(r->t);
        if (st != RBM_OK && st != RBM_DONE)
            fail_msg("step %zu: %s (%s)", i, rbm_status_name(st), rbm_context_last_error(r->ctx));
    }
}

/* W, a, b of a machine, as one array of NV NH + NV + NH doubles. */
static void params(const rbm_machine *m, double *p)
{
    assert_int_equal(rbm_machine_get_weights(m, p, NV * NH), RBM_OK);
    assert_int_equal(rbm_machine_get_visible_bias(m, p + NV * NH, NV), RBM_OK);
    assert_int_equal(rbm_machine_get_hidden_bias(m, p + NV * NH + NV, NH), RBM_OK);
}

#define NP (NV * NH + NV + NH)

static void assert_same_machine(const rbm_machine *a, const rbm_machine *b, const char *what)
{
    (void)what;
    rbm_assert_same_machine(a, b);
}

static void assert_same_file(const char *a, const char *b)
{
    size_t na, nb;
    unsigned char *pa = rbm_test_read_file(a, &na), *pb = rbm_test_read_file(b, &nb);
    if (na != nb || memcmp(pa, pb, na) != 0)
        fail_msg("%s (%zu bytes) and %s (%zu bytes) differ", a, na, b, nb);
    free(pa);
    free(pb);
}

#define tmp rbm_test_tmp_path

/* ---------------- one worker is the plain trainer ---------------- */

static int identity_allreduce(void *user, double *buf, size_t n)
{
    (void)buf;
    (void)n;
    int *fail = user;
    return fail && *fail ? -7 : 0;
}

static int identity_gather(void *user, const void *send, size_t n, void *recv)
{
    (void)user;
    memcpy(recv, send, n);
    return 0;
}

static void test_one_worker_is_plain(void **state)
{
    (void)state;
    const size_t N = 47, B = 10; /* 5 batches, the last of 7 rows */
    double *x = make_rows(N);
    for (int prec = 0; prec < 2; prec++) {
        rbm_precision p = prec ? RBM_PRECISION_FLOAT32 : RBM_PRECISION_FLOAT64;
        run plain, one, rank;
        run_new(&plain, x, N, B, p);
        run_new(&one, x, N, B, p);
        run_new(&rank, x, N, B, p);
        RBM_OKAY(one.ctx, rbm_trainer_set_workers(one.t, 1));
        assert_int_equal(rbm_trainer_worker_count(one.t), 1);
        rbm_collective_ops ops = {identity_allreduce, identity_gather};
        RBM_OKAY(rank.ctx, rbm_trainer_set_collective(rank.t, &ops, NULL, 0));
        steps(&plain, 13);
        steps(&one, 13);
        steps(&rank, 13);
        assert_same_machine(plain.m, one.m, "1 virtual worker");
        assert_same_machine(plain.m, rank.m, "1 worker with a collective");
        double ra = rbm_trainer_reconstruction_error(plain.t);
        double rb = rbm_trainer_reconstruction_error(rank.t);
        assert_memory_equal(&ra, &rb, sizeof ra);
        RBM_OKAY(plain.ctx, rbm_trainer_save_checkpoint(plain.t, tmp("plain.ckpt")));
        RBM_OKAY(one.ctx, rbm_trainer_save_checkpoint(one.t, tmp("one.ckpt")));
        RBM_OKAY(rank.ctx, rbm_trainer_save_checkpoint(rank.t, tmp("rank.ckpt")));
        assert_same_file(tmp("plain.ckpt"), tmp("one.ckpt"));
        assert_same_file(tmp("plain.ckpt"), tmp("rank.ckpt"));
        run_free(&plain);
        run_free(&one);
        run_free(&rank);
    }
    free(x);
}

/* ---------------- the reference: P workers by hand ---------------- */

/* trainer.h's partition: floor(r total / P). */
static size_t part(size_t total, size_t P, size_t r)
{
    return r * total / P;
}

/* Fisher-Yates from the top with the rejection draw of an index, as the
 * trainer's shuffle is documented (shuffle.h), on perm[0..n) + offset. */
static void ref_shuffle(rbm_rng *g, size_t *perm, size_t n, size_t offset)
{
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n; i > 1; i--) {
        uint64_t limit = -(uint64_t)i % i, v;
        do
            v = rbm_rng_next_u64(g);
        while (v < limit);
        size_t j = (size_t)(v % i), tmpv = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = tmpv;
    }
    for (size_t i = 0; i < n; i++)
        perm[i] += offset;
}

static void ref_blocked_shuffle(rbm_rng *g, size_t *perm, size_t N, size_t P)
{
    for (size_t r = 0; r < P; r++)
        ref_shuffle(g, perm + part(N, P, r), part(N, P, r + 1) - part(N, P, r), part(N, P, r));
}

static void copy_gradient(rbm_gradient *dst, const rbm_gradient *src)
{
    double w[NV * NH], a[NV], b[NH];
    assert_int_equal(rbm_gradient_get_weights(src, w, NV * NH), RBM_OK);
    assert_int_equal(rbm_gradient_get_visible_bias(src, a, NV), RBM_OK);
    assert_int_equal(rbm_gradient_get_hidden_bias(src, b, NH), RBM_OK);
    assert_int_equal(rbm_gradient_set_weights(dst, w, NV * NH), RBM_OK);
    assert_int_equal(rbm_gradient_set_visible_bias(dst, a, NV), RBM_OK);
    assert_int_equal(rbm_gradient_set_hidden_bias(dst, b, NH), RBM_OK);
}

/* n_steps SGD steps of P workers on m: blocked order, worker r's PCD-2
 * estimator of B_r chains, (n_r / n) g_r summed in rank order. */
static void reference_run(rbm_context *ctx, rbm_machine *m, const double *x, size_t N, size_t B,
                          size_t P, size_t n_steps)
{
    rbm_rng *g;
    RBM_OKAY(ctx, rbm_rng_new(ctx, SEED, &g));
    size_t *perm = xzalloc(N * sizeof *perm);
    ref_shuffle(g, perm, N, 0); /* the trainer's first order, redrawn by set_workers */
    if (P > 1)
        ref_blocked_shuffle(g, perm, N, P);
    rbm_estimator *e[MAXP];
    rbm_gradient *gr, *acc;
    RBM_OKAY(ctx, rbm_gradient_new(m, &gr));
    RBM_OKAY(ctx, rbm_gradient_new(m, &acc));
    size_t nb = 0;
    for (size_t r = 0; r < P; r++) {
        size_t br = part(B, P, r + 1) - part(B, P, r);
        size_t nr = part(N, P, r + 1) - part(N, P, r);
        nb = (nr + br - 1) / br > nb ? (nr + br - 1) / br : nb;
        uint64_t s = r == 0 ? rbm_seed_derive(SEED, RBM_SEED_STREAM_TRAINER_ESTIMATOR)
                            : rbm_seed_derive(rbm_seed_derive(SEED, RBM_SEED_STREAM_TRAINER_WORKER), r);
        RBM_OKAY(ctx, rbm_estimator_new(m, RBM_ESTIMATOR_PCD, br, s, &e[r]));
        RBM_OKAY(ctx, rbm_estimator_set_int(e[r], RBM_ESTIMATOR_K, 2));
    }
    double *v = xzalloc(B * NV * sizeof(double));
    for (size_t step = 0; step < n_steps; step++) {
        size_t b = step % nb, lo[MAXP], cnt[MAXP], n = 0;
        for (size_t r = 0; r < P; r++) {
            size_t br = part(B, P, r + 1) - part(B, P, r);
            size_t nr = part(N, P, r + 1) - part(N, P, r);
            lo[r] = part(N, P, r) + b * br;
            cnt[r] = b * br >= nr ? 0 : (nr - b * br < br ? nr - b * br : br);
            n += cnt[r];
        }
        for (size_t r = 0; r < P; r++) {
            if (cnt[r] == 0) {
                RBM_OKAY(ctx, rbm_gradient_zero(gr));
            } else {
                for (size_t i = 0; i < cnt[r]; i++)
                    memcpy(v + i * NV, x + perm[lo[r] + i] * NV, NV * sizeof(double));
                RBM_OKAY(ctx, rbm_estimator_compute(e[r], cnt[r], v, cnt[r] * NV, gr));
                if (cnt[r] != n)
                    RBM_OKAY(ctx, rbm_gradient_scale(gr, (double)cnt[r] / (double)n));
            }
            if (r == 0)
                copy_gradient(acc, gr);
            else
                RBM_OKAY(ctx, rbm_gradient_axpy(acc, 1.0, gr));
        }
        RBM_OKAY(ctx, rbm_gradient_apply(acc, m, LR));
        if (b == nb - 1)
            ref_blocked_shuffle(g, perm, N, P);
    }
    for (size_t r = 0; r < P; r++)
        rbm_estimator_free(e[r]);
    rbm_gradient_free(gr);
    rbm_gradient_free(acc);
    rbm_rng_free(g);
    free(perm);
    free(v);
}

static void test_virtual_workers_match_reference(void **state)
{
    (void)state;
    const size_t N = 47, B = 10;
    double *x = make_rows(N);
    /* P = 3: B_r = 3, 3, 4 and N_r = 15, 16, 16, so 6 batches an epoch with
     * worker 2 idle in the last two and worker 0 in the last one */
    for (size_t P = 1; P <= 3; P++) {
        run v, ref;
        run_new(&v, x, N, B, RBM_PRECISION_FLOAT64);
        run_new(&ref, x, N, B, RBM_PRECISION_FLOAT64);
        RBM_OKAY(v.ctx, rbm_trainer_set_workers(v.t, P));
        size_t nb = rbm_trainer_batches_per_epoch(v.t);
        assert_int_equal(nb, P == 3 ? 6 : 5);
        steps(&v, 2 * nb + 3);
        assert_int_equal(rbm_trainer_epoch_count(v.t), 2);
        reference_run(ref.ctx, ref.m, x, N, B, P, 2 * nb + 3);
        char what[64];
        snprintf(what, sizeof what, "%zu virtual workers vs the reference", P);
        assert_same_machine(v.m, ref.m, what);
        run_free(&v);
        run_free(&ref);
    }
    free(x);
}

/* ---------------- P trainers in threads ---------------- */

typedef struct tcoll {
    size_t P;
    pthread_barrier_t bar;
    double *slot[MAXP];
    const void *send[MAXP];
} tcoll;

typedef struct worker {
    tcoll *c;
    size_t rank, N, B, n_steps;
    const double *x;
    const char *ckpt, *resume;
    rbm_precision prec;
    double p[NP], recon;
    rbm_status st;
} worker;

static int thread_allreduce(void *user, double *buf, size_t n)
{
    worker *w = user;
    tcoll *c = w->c;
    c->slot[w->rank] = buf;
    pthread_barrier_wait(&c->bar);
    double *sum = xzalloc(n * sizeof(double));
    memcpy(sum, c->slot[0], n * sizeof(double));
    for (size_t r = 1; r < c->P; r++)
        for (size_t i = 0; i < n; i++)
            sum[i] += c->slot[r][i];
    pthread_barrier_wait(&c->bar);
    memcpy(buf, sum, n * sizeof(double));
    free(sum);
    return 0;
}

static int thread_gather(void *user, const void *send, size_t n, void *recv)
{
    worker *w = user;
    tcoll *c = w->c;
    c->send[w->rank] = send;
    pthread_barrier_wait(&c->bar);
    if (w->rank == 0)
        for (size_t r = 0; r < c->P; r++)
            memcpy((char *)recv + r * n, c->send[r], n);
    else if (recv)
        return -1;
    pthread_barrier_wait(&c->bar);
    return 0;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    run r;
    run_new(&r, w->x, w->N, w->B, w->prec);
    if (w->resume) {
        rbm_trainer_free(r.t);
        rbm_machine_free(r.m);
        w->st = rbm_trainer_load_checkpoint(r.ctx, w->resume, r.ds, &r.m, &r.t);
    } else {
        w->st = rbm_trainer_set_workers(r.t, w->c->P);
    }
    rbm_collective_ops ops = {thread_allreduce, thread_gather};
    if (!w->st)
        w->st = rbm_trainer_set_collective(r.t, &ops, w, w->rank);
    for (size_t i = 0; i < w->n_steps && !w->st; i++) {
        rbm_status st = rbm_trainer_step(r.t);
        w->st = st == RBM_DONE ? RBM_OK : st;
    }
    if (!w->st && w->ckpt)
        w->st = rbm_trainer_save_checkpoint(r.t, w->rank == 0 ? w->ckpt : NULL);
    if (!w->st) {
        params(r.m, w->p);
        w->recon = rbm_trainer_reconstruction_error(r.t);
    }
    run_free(&r);
    return NULL;
}

/* P threads, steps, then a checkpoint at ckpt (by worker 0); all agree. */
static void threads_run(size_t P, const double *x, size_t N, size_t B, size_t n_steps,
                        rbm_precision prec, const char *resume, const char *ckpt, double *p,
                        double *recon)
{
    tcoll c = {.P = P};
    pthread_barrier_init(&c.bar, NULL, (unsigned)P);
    worker w[MAXP];
    pthread_t th[MAXP];
    for (size_t r = 0; r < P; r++) {
        w[r] = (worker){&c, r, N, B, n_steps, x, ckpt, resume, prec, {0}, 0, RBM_OK};
        assert_int_equal(pthread_create(&th[r], NULL, worker_main, &w[r]), 0);
    }
    for (size_t r = 0; r < P; r++)
        pthread_join(th[r], NULL);
    pthread_barrier_destroy(&c.bar);
    for (size_t r = 0; r < P; r++) {
        if (w[r].st)
            fail_msg("worker %zu: %s", r, rbm_status_name(w[r].st));
        assert_memory_equal(w[r].p, w[0].p, sizeof w[0].p);
    }
    memcpy(p, w[0].p, sizeof w[0].p);
    *recon = w[0].recon;
}

static void test_threads_equal_virtual_workers(void **state)
{
    (void)state;
    const size_t N = 47, B = 10;
    double *x = make_rows(N);
    for (size_t P = 2; P <= 3; P++)
        for (int prec = 0; prec < 2; prec++) {
            rbm_precision pr = prec ? RBM_PRECISION_FLOAT32 : RBM_PRECISION_FLOAT64;
            run v;
            run_new(&v, x, N, B, pr);
            RBM_OKAY(v.ctx, rbm_trainer_set_workers(v.t, P));
            steps(&v, 8); /* within the second epoch */
            RBM_OKAY(v.ctx, rbm_trainer_save_checkpoint(v.t, tmp("virtual.ckpt")));
            double p[NP], pv[NP], recon;
            threads_run(P, x, N, B, 8, pr, NULL, tmp("threads.ckpt"), p, &recon);
            params(v.m, pv);
            assert_memory_equal(p, pv, sizeof p);
            double rv = rbm_trainer_reconstruction_error(v.t);
            assert_memory_equal(&recon, &rv, sizeof rv);
            assert_same_file(tmp("virtual.ckpt"), tmp("threads.ckpt"));

            /* resume: virtual from the threads' checkpoint, threads from the
             * virtual one, both continue the uninterrupted run bit for bit */
            steps(&v, 7);
            rbm_machine *m2;
            rbm_trainer *t2;
            RBM_OKAY(v.ctx, rbm_trainer_load_checkpoint(v.ctx, tmp("threads.ckpt"), v.ds, &m2, &t2));
            assert_int_equal(rbm_trainer_worker_count(t2), P);
            for (int i = 0; i < 7; i++)
                assert_true(rbm_trainer_step(t2) <= RBM_DONE);
            assert_same_machine(v.m, m2, "virtual workers resumed");
            threads_run(P, x, N, B, 7, pr, tmp("virtual.ckpt"), NULL, p, &recon);
            params(v.m, pv);
            assert_memory_equal(p, pv, sizeof p);
            rbm_trainer_free(t2);
            rbm_machine_free(m2);
            run_free(&v);
        }
    free(x);
}

/* ---------------- other worker counts, failures, arguments ---------------- */

static void test_resume_on_other_worker_count(void **state)
{
    (void)state;
    const size_t N = 47, B = 10;
    double *x = make_rows(N);
    run v;
    run_new(&v, x, N, B, RBM_PRECISION_FLOAT64);
    RBM_OKAY(v.ctx, rbm_trainer_set_workers(v.t, 2));
    steps(&v, 3);
    /* within an epoch the count is fixed */
    RBM_CHECK(v.ctx, rbm_trainer_set_workers(v.t, 3), RBM_ERR_STATE);
    RBM_OKAY(v.ctx, rbm_trainer_set_workers(v.t, 2)); /* the same count: nothing changes */
    steps(&v, 2); /* the end of the first epoch */
    assert_int_equal(rbm_trainer_batch_index(v.t), 0);
    RBM_OKAY(v.ctx, rbm_trainer_save_checkpoint(v.t, tmp("epoch.ckpt")));
    rbm_machine *m2;
    rbm_trainer *t2;
    RBM_OKAY(v.ctx, rbm_trainer_load_checkpoint(v.ctx, tmp("epoch.ckpt"), v.ds, &m2, &t2));
    assert_same_machine(v.m, m2, "loaded");
    RBM_OKAY(v.ctx, rbm_trainer_set_workers(t2, 3));
    assert_int_equal(rbm_trainer_batches_per_epoch(t2), 6);
    /* the same on a trainer that was never saved */
    RBM_OKAY(v.ctx, rbm_trainer_set_workers(v.t, 3));
    steps(&v, 6);
    for (int i = 0; i < 6; i++)
        assert_true(rbm_trainer_step(t2) <= RBM_DONE);
    assert_same_machine(v.m, m2, "continued on 3 workers");
    assert_int_equal(rbm_trainer_epoch_count(t2), 2);
    rbm_trainer_free(t2);
    rbm_machine_free(m2);
    run_free(&v);
    free(x);
}

static void test_failing_collective_changes_nothing(void **state)
{
    (void)state;
    const size_t N = 47, B = 10;
    double *x = make_rows(N);
    run a, ref;
    run_new(&a, x, N, B, RBM_PRECISION_FLOAT64);
    run_new(&ref, x, N, B, RBM_PRECISION_FLOAT64);
    int fail = 0;
    rbm_collective_ops ops = {identity_allreduce, identity_gather};
    RBM_OKAY(a.ctx, rbm_trainer_set_collective(a.t, &ops, &fail, 0));
    steps(&a, 4);
    steps(&ref, 4);
    RBM_OKAY(a.ctx, rbm_trainer_save_checkpoint(a.t, tmp("before.ckpt")));
    fail = 1;
    RBM_CHECK(a.ctx, rbm_trainer_step(a.t), RBM_ERR_COLLECTIVE);
    assert_non_null(strstr(rbm_context_last_error(a.ctx), "allreduce_sum"));
    /* one worker: it writes, then cannot tell the others */
    RBM_CHECK(a.ctx, rbm_trainer_save_checkpoint(a.t, tmp("failed.ckpt")), RBM_ERR_COLLECTIVE);
    fail = 0;
    assert_int_equal(rbm_trainer_step_count(a.t), 4);
    RBM_OKAY(a.ctx, rbm_trainer_save_checkpoint(a.t, tmp("after.ckpt")));
    assert_same_file(tmp("before.ckpt"), tmp("after.ckpt"));
    steps(&a, 3);
    steps(&ref, 3);
    assert_same_machine(a.m, ref.m, "after a failed exchange");
    run_free(&a);
    run_free(&ref);
    free(x);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    const size_t N = 47, B = 10;
    double *x = make_rows(N);
    run a;
    run_new(&a, x, N, B, RBM_PRECISION_FLOAT64);
    rbm_collective_ops ops = {identity_allreduce, NULL}, none = {NULL, NULL};
    assert_int_equal(rbm_trainer_set_workers(NULL, 2), RBM_ERR_NULL);
    RBM_CHECK(a.ctx, rbm_trainer_set_workers(a.t, 0), RBM_ERR_INVALID_ARGUMENT);
    RBM_CHECK(a.ctx, rbm_trainer_set_workers(a.t, B + 1), RBM_ERR_INVALID_ARGUMENT);
    assert_int_equal(rbm_trainer_worker_count(a.t), 1);
    assert_int_equal(rbm_trainer_worker_count(NULL), 0);
    RBM_OKAY(a.ctx, rbm_trainer_set_int(a.t, RBM_TRAINER_CENTERED, 1));
    RBM_CHECK(a.ctx, rbm_trainer_set_workers(a.t, 2), RBM_ERR_UNSUPPORTED);
    RBM_OKAY(a.ctx, rbm_trainer_set_int(a.t, RBM_TRAINER_CENTERED, 0));
    RBM_OKAY(a.ctx, rbm_trainer_set_workers(a.t, 2));
    RBM_CHECK(a.ctx, rbm_trainer_set_int(a.t, RBM_TRAINER_CENTERED, 1), RBM_ERR_UNSUPPORTED);
    RBM_CHECK(a.ctx, rbm_trainer_set_collective(a.t, NULL, NULL, 0), RBM_ERR_NULL);
    RBM_CHECK(a.ctx, rbm_trainer_set_collective(a.t, &none, NULL, 0), RBM_ERR_NULL);
    RBM_CHECK(a.ctx, rbm_trainer_set_collective(a.t, &ops, NULL, 2), RBM_ERR_INVALID_ARGUMENT);
    RBM_OKAY(a.ctx, rbm_trainer_set_collective(a.t, &ops, NULL, 1));
    RBM_CHECK(a.ctx, rbm_trainer_set_collective(a.t, &ops, NULL, 1), RBM_ERR_STATE);
    RBM_CHECK(a.ctx, rbm_trainer_set_workers(a.t, 3), RBM_ERR_STATE);
    /* no gather: this worker cannot help write a checkpoint */
    RBM_CHECK(a.ctx, rbm_trainer_save_checkpoint(a.t, tmp("nogather.ckpt")), RBM_ERR_UNSUPPORTED);
    run_free(&a);
    free(x);
}

static int setup(void **state)
{
    (void)state;
    return rbm_test_tmpdir_new("workers");
}

static int teardown(void **state)
{
    (void)state;
    return rbm_test_tmpdir_remove();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_worker_is_plain),
        cmocka_unit_test(test_virtual_workers_match_reference),
        cmocka_unit_test(test_threads_equal_virtual_workers),
        cmocka_unit_test(test_resume_on_other_worker_count),
        cmocka_unit_test(test_failing_collective_changes_nothing),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
