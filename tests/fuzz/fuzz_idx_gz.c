/* librbm fuzz target: gzip-compressed IDX files (rbm_dataset_load_idx).
 *
 * Each input is written as it is (the corpus holds .idx.gz files, so the
 * mutations hit the gzip stream: header, deflate blocks, CRC and length
 * trailer) and loaded. Checked: a failed load returns a documented status,
 * leaves *out NULL and a non-empty detail with the same status in the
 * context; a loaded dataset passes fz_check_dataset (finite values,
 * consistent image shape, NPY save + load round trip). When the input is
 * exactly one complete gzip member that zlib inflates to at most 4 MiB, the
 * inflated bytes are loaded as a plain IDX file as well, and both loads must
 * give the same status and the same dataset. */
#include "fuzz_common.h"

static const char *in_path, *raw_path, *npy_path;

enum { MAX_INFLATED = 4 << 20 };
static uint8_t *inflated; /* MAX_INFLATED bytes, allocated once */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_context();
    in_path = fz_new_path("idxgz", ".idx.gz");
    raw_path = fz_new_path("idxgz", ".idx");
    npy_path = fz_new_path("idxgz", ".npy");
    inflated = malloc(MAX_INFLATED);
    if (!inflated)
        fz_fail("harness: out of memory");
    return 0;
}

static rbm_status load_one(const char *path, rbm_dataset **out)
{
    static const rbm_status allowed[] = {RBM_ERR_IO, RBM_ERR_BAD_FORMAT, RBM_ERR_TOO_LARGE,
                                         RBM_ERR_NO_MEMORY, RBM_ERR_NOT_FINITE};
    fz_clear();
    rbm_status st = rbm_dataset_load_idx(fz_context(), path, out);
    fz_check_status("rbm_dataset_load_idx (gzip)", st, *out, allowed,
                    sizeof allowed / sizeof allowed[0]);
    if (st == RBM_OK)
        fz_check_dataset("rbm_dataset_load_idx (gzip)", *out, npy_path);
    return st;
}

/* The input inflated into `inflated` when it is exactly one gzip member
 * (nothing after its trailer) of at most MAX_INFLATED bytes; NULL
 * otherwise. */
static uint8_t *gunzip_exact(const uint8_t *data, size_t size, size_t *out_size)
{
    if (size < 18 || data[0] != 0x1f || data[1] != 0x8b)
        return NULL;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + 15) != Z_OK)
        fz_fail("harness: inflateInit2 failed");
    uint8_t *buf = inflated;
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)size;
    zs.next_out = buf;
    zs.avail_out = MAX_INFLATED;
    int zr = inflate(&zs, Z_FINISH);
    int whole = zr == Z_STREAM_END && zs.avail_in == 0;
    *out_size = zs.total_out;
    inflateEnd(&zs);
    return whole ? buf : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_write_file(in_path, data, size);
    rbm_dataset *packed = NULL;
    rbm_status st = load_one(in_path, &packed);
    size_t raw_size = 0;
    uint8_t *raw = gunzip_exact(data, size, &raw_size);
    /* An inflated stream that itself starts with the gzip magic would be
     * inflated again by the loader: not the same file. */
    if (raw && !(raw_size >= 2 && raw[0] == 0x1f && raw[1] == 0x8b)) {
        fz_write_file(raw_path, raw, raw_size);
        rbm_dataset *plain = NULL;
        rbm_status st2 = load_one(raw_path, &plain);
        if (st2 != st)
            fz_fail("IDX loads with %s gzip-compressed and %s inflated", rbm_status_name(st),
                    rbm_status_name(st2));
        if (st == RBM_OK) {
            fz_same_dataset("gzip and inflated IDX", packed, plain);
            size_t h1, w1, h2, w2;
            rbm_dataset_image_shape(packed, &h1, &w1);
            rbm_dataset_image_shape(plain, &h2, &w2);
            if (h1 != h2 || w1 != w2)
                fz_fail("gzip and inflated IDX have other image shapes");
        }
        rbm_dataset_free(plain);
    }
    rbm_dataset_free(packed);
    return 0;
}
