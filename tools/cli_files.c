/* cli_files.c — the files the rbm program writes: paths beside the model,
 * directories, early checks of output paths, atomic output files (a
 * temporary renamed into place) for what the library does not write itself
 * (PNG grids, text samples; NPY is rbm_dataset_save_npy), and the text
 * writer of samples. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

char *cli_path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b + 1);
    }
    return p;
}

/* The first n bytes of path followed by suffix, malloc'd. */
static char *path_prefix_suffix(const char *path, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    char *p = malloc(n + k + 1);
    if (p) {
        memcpy(p, path, n);
        memcpy(p + n, suffix, k + 1);
    }
    return p;
}

char *cli_path_suffix(const char *path, const char *suffix)
{
    return path_prefix_suffix(path, strlen(path), suffix);
}

char *cli_default_plots_dir(const char *model)
{
    size_t n = strlen(model);
    if (n > 4 && strcmp(model + n - 4, ".rbm") == 0)
        n -= 4;
    return path_prefix_suffix(model, n, ".plots");
}

int cli_has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    if (n <= k)
        return 0;
    for (size_t i = 0; i < k; i++) {
        char c = s[n - k + i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != suffix[i])
            return 0;
    }
    return 1;
}

int cli_make_dir(const char *dir, char *note, size_t n)
{
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return 0;
        snprintf(note, n, "'%s' exists and is not a directory", dir);
        return -1;
    }
    if (mkdir(dir, 0777) != 0) {
        snprintf(note, n, "cannot create the directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Before a long run: the path is a directory, or its directory does not
 * exist or is not writable. The save itself reports anything else. */
int cli_check_output_path(const char *path, const char *what)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        cli_errorf("cannot save %s to '%s': it is a directory", what, path);
        return EXIT_RUNTIME;
    }
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) < sizeof dir)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else
        return 0; /* too long to check here; the save reports it */
    if (stat(dir, &sb) != 0) {
        cli_errorf("cannot save %s to '%s': directory '%s': %s", what, path, dir, strerror(errno));
        return EXIT_RUNTIME;
    }
    if (!S_ISDIR(sb.st_mode)) {
        cli_errorf("cannot save %s to '%s': '%s' is not a directory", what, path, dir);
        return EXIT_RUNTIME;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        cli_errorf("cannot save %s to '%s': directory '%s': %s", what, path, dir, strerror(errno));
        return EXIT_RUNTIME;
    }
    return 0;
}

/* ---- atomic output files ---- */

int cli_start_output(struct cli_outfile *of, const char *path)
{
    of->f = NULL;
    of->path = path;
    of->tmp = cli_path_suffix(path, ".tmp.XXXXXX");
    if (!of->tmp) {
        cli_errorf("out of memory");
        return -1;
    }
    int fd = mkstemp(of->tmp);
    if (fd < 0) {
        cli_errorf("cannot create '%s': %s", of->tmp, strerror(errno));
        free(of->tmp);
        of->tmp = NULL;
        return -1;
    }
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) {
        /* best effort: the file stays private */
    }
    of->f = fdopen(fd, "wb");
    if (!of->f) {
        cli_errorf("cannot write '%s': %s", of->tmp, strerror(errno));
        close(fd);
        unlink(of->tmp);
        free(of->tmp);
        of->tmp = NULL;
        return -1;
    }
    return 0;
}

int cli_finish_output(struct cli_outfile *of, int ok)
{
    int err = 0;
    if (ok && (fflush(of->f) != 0 || ferror(of->f) || fsync(fileno(of->f)) != 0))
        err = errno ? errno : EIO;
    if (fclose(of->f) != 0 && ok && !err)
        err = errno ? errno : EIO;
    of->f = NULL;
    if (ok && !err && rename(of->tmp, of->path) != 0)
        err = errno;
    int rc = 0;
    if (!ok || err) {
        unlink(of->tmp);
        if (ok)
            cli_errorf("cannot write '%s': %s", of->path, strerror(err));
        rc = -1;
    }
    free(of->tmp);
    of->tmp = NULL;
    return rc;
}

/* ---- sample writers ---- */

int cli_write_txt(FILE *f, const double *x, size_t rows, size_t cols)
{
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < cols; c++) {
            if (c)
                fputc(' ', f);
            fprintf(f, "%.17g", x[r * cols + c] == 0 ? 0.0 : x[r * cols + c]);
        }
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}
