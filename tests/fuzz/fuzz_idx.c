/* librbm fuzz target: plain IDX files (rbm_dataset_load_idx).
 *
 * Each input is loaded as it is; an input that does not start with the gzip
 * magic is also gzip-compressed in memory and loaded again: the loader
 * detects compression from the content, so both loads must give the same
 * status and the same dataset. Checked besides: a failed load returns a
 * documented status, leaves *out NULL and a non-empty detail with the same
 * status in the context; a loaded dataset passes fz_check_dataset (finite
 * values, consistent image shape, NPY save + load round trip). */
#include "fuzz_common.h"

static const char *in_path, *gz_path, *npy_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_context();
    in_path = fz_new_path("idx", ".idx");
    gz_path = fz_new_path("idx", ".idx.gz");
    npy_path = fz_new_path("idx", ".npy");
    return 0;
}

static rbm_status load_one(const char *path, rbm_dataset **out)
{
    static const rbm_status allowed[] = {RBM_ERR_IO, RBM_ERR_BAD_FORMAT, RBM_ERR_TOO_LARGE,
                                         RBM_ERR_NO_MEMORY, RBM_ERR_NOT_FINITE};
    fz_clear();
    rbm_status st = rbm_dataset_load_idx(fz_context(), path, out);
    fz_check_status("rbm_dataset_load_idx", st, *out, allowed,
                    sizeof allowed / sizeof allowed[0]);
    if (st == RBM_OK)
        fz_check_dataset("rbm_dataset_load_idx", *out, npy_path);
    return st;
}

/* data gzip-compressed into a malloc'd buffer (gzip header and trailer). */
static uint8_t *gzip(const uint8_t *data, size_t size, size_t *out_size)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        fz_fail("harness: deflateInit2 failed");
    uLong cap = deflateBound(&zs, (uLong)size);
    uint8_t *buf = malloc(cap);
    if (!buf)
        fz_fail("harness: out of memory");
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)size;
    zs.next_out = buf;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        fz_fail("harness: deflate did not finish");
    *out_size = zs.total_out;
    deflateEnd(&zs);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_write_file(in_path, data, size);
    rbm_dataset *plain = NULL;
    rbm_status st = load_one(in_path, &plain);
    if (!(size >= 2 && data[0] == 0x1f && data[1] == 0x8b)) {
        size_t gz_size = 0;
        uint8_t *gz = gzip(data, size, &gz_size);
        fz_write_file(gz_path, gz, gz_size);
        free(gz);
        rbm_dataset *packed = NULL;
        rbm_status st2 = load_one(gz_path, &packed);
        if (st2 != st)
            fz_fail("IDX loads with %s plain and %s gzip-compressed", rbm_status_name(st),
                    rbm_status_name(st2));
        if (st == RBM_OK) {
            fz_same_dataset("plain and gzip IDX", plain, packed);
            size_t h1, w1, h2, w2;
            rbm_dataset_image_shape(plain, &h1, &w1);
            rbm_dataset_image_shape(packed, &h2, &w2);
            if (h1 != h2 || w1 != w2)
                fz_fail("plain and gzip IDX have other image shapes");
        }
        rbm_dataset_free(packed);
    }
    rbm_dataset_free(plain);
    return 0;
}
