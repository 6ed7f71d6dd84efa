/* librbm — rbms_archive: machines from and to HDF5 archives of the `rbms`
 * package (<rbm/interop.h>, docs/interop.md). */
#include "core/file_in.h"
#include "core/file_out.h"
#include "core/h5io.h"
#include "core/internal.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rbm_hdf5_available(void)
{
#ifdef RBM_HAVE_HDF5
    return 1;
#else
    return 0;
#endif
}

/* The `rbms` model types librbm has unit kinds for. */
typedef struct rbms_type {
    const char *name;
    rbm_unit_kind vk, hk; /* a Gaussian hidden layer has sigma_h = 1/sqrt(N_v) */
} rbms_type;

static const rbms_type rbms_types[] = {
    {"BBRBM", RBM_UNIT_BERNOULLI, RBM_UNIT_BERNOULLI},
    {"IIRBM", RBM_UNIT_ISING, RBM_UNIT_ISING},
    {"BGRBM", RBM_UNIT_BERNOULLI, RBM_UNIT_GAUSSIAN},
    {"IGRBM", RBM_UNIT_ISING, RBM_UNIT_GAUSSIAN},
};

#ifdef RBM_HAVE_HDF5

static const rbms_type *find_type(const char *name)
{
    for (size_t i = 0; i < sizeof rbms_types / sizeof rbms_types[0]; i++)
        if (strcmp(rbms_types[i].name, name) == 0)
            return &rbms_types[i];
    return NULL;
}

/* N of a link named "update_N" (decimal, no sign or leading zero, < 2^63),
 * or -1. */
static int64_t update_number(const char *name)
{
    static const char pre[] = "update_";
    if (strncmp(name, pre, sizeof pre - 1) != 0)
        return -1;
    const char *p = name + sizeof pre - 1;
    if (*p == '\0' || (*p == '0' && p[1] != '\0'))
        return -1;
    uint64_t n = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || n > (UINT64_MAX / 10) - 1)
            return -1;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    return n > (uint64_t)INT64_MAX ? -1 : (int64_t)n;
}

/* The update numbers found by the iteration, growing. */
typedef struct update_list {
    rbm_context *ctx;
    uint64_t *u;
    size_t n, cap;
    int oom;
} update_list;

static herr_t collect_update(hid_t g, const char *name, const H5L_info_t *info, void *op)
{
    (void)g;
    update_list *l = op;
    int64_t n = update_number(name);
    if (n < 0 || info->type != H5L_TYPE_HARD)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        uint64_t *u = rbm__alloc(l->ctx, cap * sizeof *u);
        if (!u) {
            l->oom = 1;
            return 1; /* stop */
        }
        if (l->n)
            memcpy(u, l->u, l->n * sizeof *u);
        rbm__free(l->ctx, l->u);
        l->u = u;
        l->cap = cap;
    }
    l->u[l->n++] = (uint64_t)n;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The sorted updates of the open archive (at least one). */
static rbm_status list_updates(rbm__h5 *h, update_list *l)
{
    *l = (update_list){h->ctx, NULL, 0, 0, 0};
    hsize_t idx = 0;
    herr_t r = H5Literate(h->file, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, collect_update, l);
    if (l->oom)
        return rbm__fail(h->ctx, RBM_ERR_NO_MEMORY, "%s %s: cannot allocate the update list",
                         h->what, h->path);
    if (r < 0)
        return rbm__fail(h->ctx, RBM_ERR_BAD_FORMAT, "%s %s: cannot list the root group",
                         h->what, h->path);
    if (l->n == 0)
        return rbm__fail(h->ctx, RBM_ERR_BAD_FORMAT,
                         "%s %s: no checkpoint (no group named update_N)", h->what, h->path);
    qsort(l->u, l->n, sizeof *l->u, cmp_u64);
    return RBM_OK;
}

static rbm_status read_model_type(rbm__h5 *h, char *buf, size_t cap)
{
    return rbm__h5_read_string(h, h->file, "model_type", buf, cap);
}

/* The model type of the archive, as a supported one. */
static rbm_status archive_type(rbm__h5 *h, const rbms_type **t)
{
    char name[64];
    rbm_status st = read_model_type(h, name, sizeof name);
    if (st)
        return st;
    *t = find_type(name);
    if (!*t)
        return rbm__fail(h->ctx, RBM_ERR_UNSUPPORTED,
                         "%s %s: model type '%s' is not supported (librbm reads BBRBM, IIRBM, "
                         "BGRBM, IGRBM%s)",
                         h->what, h->path, name,
                         strcmp(name, "PBRBM") == 0 ? "; PBRBM has Potts visible units, which "
                                                      "librbm does not have"
                                                    : "");
    return RBM_OK;
}

static rbm_status null_fail(rbm_context *ctx, const char *fn, const char *arg)
{
    return ctx ? rbm__fail(ctx, RBM_ERR_NULL, "%s: %s is NULL", fn, arg) : RBM_ERR_NULL;
}

rbm_status rbm_rbms_list(rbm_context *ctx, const char *path, uint64_t *updates, double *times,
                         size_t cap, size_t *count, char *model_type, size_t model_type_cap)
{
    if (!ctx || !path || !count)
        return null_fail(ctx, "rbm_rbms_list", !ctx ? "ctx" : !path ? "path" : "count");
    rbm__h5 h;
    rbm_status st = rbm__h5_open(ctx, path, "rbms archive", &h);
    if (st)
        return st;
    char type[256];
    update_list l = {0};
    st = read_model_type(&h, type, sizeof type);
    if (!st)
        st = list_updates(&h, &l);
    for (size_t i = 0; !st && i < l.n && i < cap; i++) {
        char name[48];
        snprintf(name, sizeof name, "update_%" PRIu64 "/time", l.u[i]);
        double t = NAN;
        if (times && rbm__h5_exists(&h, h.file, name) &&
            (st = rbm__h5_read_scalar(&h, h.file, name, &t)) != RBM_OK)
            break;
        if (times)
            times[i] = t;
        if (updates)
            updates[i] = l.u[i];
    }
    rbm__h5_close(&h);
    if (!st) {
        *count = l.n;
        if (model_type && model_type_cap)
            snprintf(model_type, model_type_cap, "%s", type);
    }
    rbm__free(ctx, l.u);
    return st;
}

/* One parameter array of group g ("update_N"): params/<name>, or <name>
 * beside params (rbms 0.2.1 keeps hbias only there). */
static rbm_status read_param(rbm__h5 *h, hid_t g, const char *name, unsigned rank,
                             rbm__h5_array *a)
{
    char p[64];
    snprintf(p, sizeof p, "params/%s", name);
    const char *at = rbm__h5_exists(h, g, p) ? p : name;
    rbm_status st = rbm__h5_read_numeric(h, g, at, rank, RBM__H5_F64, a);
    if (!st && a->rank != rank) {
        rbm__free(h->ctx, a->data);
        a->data = NULL;
        st = rbm__fail(h->ctx, RBM_ERR_SHAPE, "%s %s: '%s' has rank %u, expected %u", h->what,
                       h->path, at, a->rank, rank);
    }
    return st;
}

/* The machine of the checkpoint group g. */
static rbm_status machine_of(rbm__h5 *h, hid_t g, const rbms_type *t, rbm_machine **out)
{
    rbm__h5_array w = {0}, a = {0}, b = {0};
    rbm_status st = read_param(h, g, "weight_matrix", 2, &w);
    if (!st)
        st = read_param(h, g, "vbias", 1, &a);
    if (!st)
        st = read_param(h, g, "hbias", 1, &b);
    size_t nv = w.dims[0], nh = w.dims[1];
    if (!st && (a.n != nv || b.n != nh || nv == 0 || nh == 0))
        st = rbm__fail(h->ctx, RBM_ERR_SHAPE,
                       "%s %s: weight_matrix is %zu x %zu, vbias has %zu and hbias %zu elements",
                       h->what, h->path, nv, nh, a.n, b.n);
    rbm_machine *m = NULL;
    if (!st)
        st = rbm_machine_new(h->ctx, nv, nh, t->vk, t->hk, &m);
    if (!st && t->hk == RBM_UNIT_GAUSSIAN)
        st = rbm_machine_set_sigma(m, RBM_LAYER_HIDDEN, 1.0 / sqrt((double)nv));
    if (!st && w.file_bytes == 4)
        st = rbm_machine_set_precision(m, RBM_PRECISION_FLOAT32);
    if (!st)
        st = rbm_machine_set_weights(m, w.data, w.n);
    if (!st)
        st = rbm_machine_set_visible_bias(m, a.data, a.n);
    if (!st)
        st = rbm_machine_set_hidden_bias(m, b.data, b.n);
    rbm__free(h->ctx, w.data);
    rbm__free(h->ctx, a.data);
    rbm__free(h->ctx, b.data);
    if (st) {
        rbm_machine_free(m);
        return st;
    }
    *out = m;
    return RBM_OK;
}

/* "1, 3, 9, ..., 300" into buf. */
static void format_updates(const update_list *l, char *buf, size_t cap)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < l->n && off + 24 < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%" PRIu64, i ? ", " : "", l->u[i]);
    if (off + 24 >= cap)
        snprintf(buf + off, cap - off, ", ...");
}

rbm_status rbm_machine_load_rbms(rbm_context *ctx, const char *path, uint64_t update,
                                 rbm_machine **out)
{
    if (out)
        *out = NULL;
    if (!ctx || !path || !out)
        return null_fail(ctx, "rbm_machine_load_rbms", !ctx ? "ctx" : !path ? "path" : "out");
    rbm__h5 h;
    rbm_status st = rbm__h5_open(ctx, path, "rbms archive", &h);
    if (st)
        return st;
    const rbms_type *t = NULL;
    update_list l = {0};
    st = archive_type(&h, &t);
    if (!st)
        st = list_updates(&h, &l);
    if (!st) {
        uint64_t u = update == RBM_RBMS_LAST ? l.u[l.n - 1] : update;
        void *hit = bsearch(&u, l.u, l.n, sizeof *l.u, cmp_u64);
        char name[48];
        snprintf(name, sizeof name, "update_%" PRIu64, u);
        hid_t g = hit ? H5Gopen2(h.file, name, H5P_DEFAULT) : H5I_INVALID_HID;
        if (g < 0) {
            char have[160];
            format_updates(&l, have, sizeof have);
            st = rbm__fail(ctx, RBM_ERR_BAD_FORMAT, "rbms archive %s has no update %" PRIu64
                           " (updates: %s)", path, u, have);
        } else {
            st = machine_of(&h, g, t, out);
            H5Gclose(g);
        }
    }
    rbm__h5_close(&h);
    rbm__free(ctx, l.u);
    return st ? rbm__fin_name_error(ctx, st, "rbms archive", path) : st;
}

/* ---- writer ---- */

/* The `rbms` type of m, or NULL. */
static const rbms_type *type_of(const rbm_machine *m)
{
    const rbm__machine_view *v = rbm__machine_view_of(m);
    for (size_t i = 0; i < sizeof rbms_types / sizeof rbms_types[0]; i++) {
        const rbms_type *t = &rbms_types[i];
        if (t->vk != v->vk || t->hk != v->hk)
            continue;
        if (t->hk == RBM_UNIT_GAUSSIAN &&
            fabs(v->sigma_h * sqrt((double)v->nv) - 1.0) > 1e-12)
            return NULL;
        return t;
    }
    return NULL;
}

static rbm_status check_models(rbm_context *ctx, const rbm_machine *const *models,
                               const uint64_t *updates, size_t n, int f32, const rbms_type **t)
{
    const rbm__machine_view *v0 = rbm__machine_view_of(models[0]);
    *t = type_of(models[0]);
    if (!*t)
        return rbm__fail(ctx, RBM_ERR_UNSUPPORTED,
                         "rbm_rbms_save: rbms has no model type for %s visible x %s hidden units"
                         " (BBRBM, IIRBM, and BGRBM/IGRBM with sigma_h = 1/sqrt(N_v))",
                         rbm_unit_kind_name(v0->vk), rbm_unit_kind_name(v0->hk));
    for (size_t k = 0; k < n; k++) {
        if (!models[k])
            return rbm__fail(ctx, RBM_ERR_NULL, "rbm_rbms_save: models[%zu] is NULL", k);
        const rbm__machine_view *v = rbm__machine_view_of(models[k]);
        if (v->nv != v0->nv || v->nh != v0->nh || type_of(models[k]) != *t)
            return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                             "rbm_rbms_save: models[%zu] differs from models[0] in shape or units",
                             k);
        if (k && updates[k] <= updates[k - 1])
            return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                             "rbm_rbms_save: updates must increase (updates[%zu] = %" PRIu64
                             " after %" PRIu64 ")",
                             k, updates[k], updates[k - 1]);
        if (updates[k] > (uint64_t)INT64_MAX)
            return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                             "rbm_rbms_save: updates[%zu] is above 2^63 - 1", k);
        size_t nw = v->nv * v->nh;
        if (f32 && (rbm__max_abs(nw, v->W) > FLT_MAX || rbm__max_abs(v->nv, v->a) > FLT_MAX ||
                    rbm__max_abs(v->nh, v->b) > FLT_MAX))
            return rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT,
                             "rbm_rbms_save: models[%zu] has a parameter beyond FLT_MAX "
                             "(save as float64)",
                             k);
    }
    return RBM_OK;
}

/* One checkpoint group, laid out as rbms 0.2.1 writes it. */
static void write_update(rbm__h5w *w, const rbm_machine *m, uint64_t update, double time, int f32)
{
    const rbm__machine_view *v = rbm__machine_view_of(m);
    char name[48];
    snprintf(name, sizeof name, "update_%" PRIu64, update);
    hid_t g = rbm__h5w_group(w, w->h->file, name);
    hid_t p = rbm__h5w_group(w, g, "params");
    const char *names[3] = {"weight_matrix", "vbias", "hbias"};
    const double *x[3] = {v->W, v->a, v->b};
    size_t d0[3] = {v->nv, v->nv, v->nh}, d1[3] = {v->nh, 0, 0};
    for (int i = 0; i < 3; i++) {
        rbm__h5w_reals(w, p, names[i], x[i], d0[i], d1[i], f32);
        rbm__h5w_reals(w, g, names[i], x[i], d0[i], d1[i], f32); /* rbms' copies */
    }
    rbm__h5w_close_group(w, p);
    rbm__h5w_f64(w, g, "time", time);
    hid_t fl = rbm__h5w_group(w, g, "flags");
    rbm__h5w_bool(w, fl, "checkpoint", 1);
    rbm__h5w_close_group(w, fl);
    rbm__h5w_bool(w, g, "save_checkpoint", 1);
    rbm__h5w_close_group(w, g);
}

static void write_archive(rbm__h5w *w, const rbm_machine *const *models, const uint64_t *updates,
                          const double *times, size_t n, const double *chains, size_t n_chains,
                          size_t batch_size, size_t gibbs_steps, double lr, int f32,
                          const rbms_type *t, const char *path)
{
    const rbm__machine_view *v = rbm__machine_view_of(models[0]);
    rbm__h5w_string(w, w->h->file, "model_type", t->name);
    hid_t hp = rbm__h5w_group(w, w->h->file, "hyperparameters");
    rbm__h5w_i64(w, hp, "batch_size", (int64_t)batch_size);
    rbm__h5w_i64(w, hp, "gibbs_steps", (int64_t)gibbs_steps);
    rbm__h5w_f64(w, hp, "learning_rate", lr);
    rbm__h5w_i64(w, hp, "num_chains", (int64_t)n_chains);
    rbm__h5w_i64(w, hp, "num_hiddens", (int64_t)v->nh);
    rbm__h5w_i64(w, hp, "num_visibles", (int64_t)v->nv);
    rbm__h5w_f64(w, hp, "L1", 0.0);
    rbm__h5w_f64(w, hp, "L2", 0.0);
    rbm__h5w_string(w, hp, "filename", path);
    rbm__h5w_close_group(w, hp);
    rbm__h5w_reals(w, w->h->file, "parallel_chains", chains, n_chains, v->nv, f32);
    for (size_t k = 0; k < n; k++)
        write_update(w, models[k], updates[k], times ? times[k] : 0.0, f32);
}

rbm_status rbm_rbms_save(const rbm_machine *const *models, const uint64_t *updates,
                         const double *times, size_t n, const double *chains, size_t n_chains,
                         size_t chains_len, size_t batch_size, size_t gibbs_steps,
                         double learning_rate, int f32, const char *path)
{
    if (!models || n == 0 || !models[0])
        return RBM_ERR_NULL;
    rbm_context *ctx = rbm__machine_view_of(models[0])->ctx;
    rbm_status potts_st = rbm__refuse_potts(models[0], "rbm_rbms_save");
    if (potts_st)
        return potts_st;
    if (!updates || !chains || !path)
        return null_fail(ctx, "rbm_rbms_save", !updates ? "updates" : !chains ? "chains" : "path");
    const rbms_type *t;
    rbm_status st = check_models(ctx, models, updates, n, f32, &t);
    size_t nv = rbm__machine_view_of(models[0])->nv, want;
    if (!st && n_chains == 0)
        st = rbm__fail(ctx, RBM_ERR_INVALID_ARGUMENT, "rbm_rbms_save: n_chains is 0");
    if (!st && (!rbm__mul_ok(n_chains, nv, &want) || chains_len != want))
        st = rbm__fail(ctx, RBM_ERR_SHAPE, "rbm_rbms_save: chains has %zu elements, expected "
                       "%zu x %zu", chains_len, n_chains, nv);
    if (!st)
        st = rbm__check_finite(ctx, chains, chains_len, "chains");
    for (size_t k = 0; !st && times && k < n; k++)
        if (!isfinite(times[k]))
            st = rbm__fail(ctx, RBM_ERR_NOT_FINITE, "rbm_rbms_save: times[%zu] is not finite", k);
    if (st)
        return st;
    rbm__fout fo;
    if ((st = rbm__fout_open(ctx, path, &fo)) != RBM_OK)
        return st;
    rbm__h5 h;
    st = rbm__h5_create(ctx, fo.tmp, "rbms archive", &h);
    if (!st) {
        rbm__h5w w = {&h, RBM_OK};
        write_archive(&w, models, updates, times, n, chains, n_chains, batch_size, gibbs_steps,
                      learning_rate, f32, t, path);
        st = w.st;
        rbm_status cst = rbm__h5_close(&h);
        if (!st)
            st = cst;
    }
    if (st) {
        rbm__fout_abort(&fo);
        return st;
    }
    return rbm__fout_commit(ctx, &fo, path);
}

#else /* no HDF5 */

rbm_status rbm_rbms_list(rbm_context *ctx, const char *path, uint64_t *updates, double *times,
                         size_t cap, size_t *count, char *model_type, size_t model_type_cap)
{
    (void)path, (void)updates, (void)times, (void)cap, (void)count, (void)model_type,
        (void)model_type_cap;
    return ctx ? rbm__h5_unsupported(ctx, "rbm_rbms_list") : RBM_ERR_NULL;
}

rbm_status rbm_machine_load_rbms(rbm_context *ctx, const char *path, uint64_t update,
                                 rbm_machine **out)
{
    (void)path, (void)update;
    if (out)
        *out = NULL;
    return ctx ? rbm__h5_unsupported(ctx, "rbm_machine_load_rbms") : RBM_ERR_NULL;
}

rbm_status rbm_rbms_save(const rbm_machine *const *models, const uint64_t *updates,
                         const double *times, size_t n, const double *chains, size_t n_chains,
                         size_t chains_len, size_t batch_size, size_t gibbs_steps,
                         double learning_rate, int f32, const char *path)
{
    (void)updates, (void)times, (void)chains, (void)n_chains, (void)chains_len,
        (void)batch_size, (void)gibbs_steps, (void)learning_rate, (void)f32, (void)path;
    (void)rbms_types;
    if (!models || n == 0 || !models[0])
        return RBM_ERR_NULL;
    return rbm__h5_unsupported(rbm__machine_view_of(models[0])->ctx, "rbm_rbms_save");
}
#endif
