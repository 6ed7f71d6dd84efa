/* cli_files.c — the files the rbm program writes: paths beside the model,
 * directories, early checks of output paths, atomic output files (a
 * temporary renamed into place) for what the library does not write itself
 * (PNG grids, text samples; NPY is rbm_dataset_save_npy), and the text
 * writer of samples. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
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

/* What a non-regular file is, for messages. */
static const char *file_type_name(mode_t mode)
{
    if (S_ISDIR(mode))
        return "directory";
    if (S_ISFIFO(mode))
        return "FIFO";
    if (S_ISCHR(mode))
        return "character device";
    if (S_ISBLK(mode))
        return "block device";
    if (S_ISSOCK(mode))
        return "socket";
    return "special file";
}

/* The rule of the library's saves: only a regular file (absent, or a
 * symbolic link to one) is replaced. 0, or -1 with the reason in note. */
static int check_target_type(const char *path, char *note, size_t n)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return 0; /* absent (or unreadable: the save reports it) */
    if (S_ISLNK(sb.st_mode)) {
        if (stat(path, &sb) != 0) {
            snprintf(note, n, "it is a symbolic link to a missing file");
            return -1;
        }
        if (!S_ISREG(sb.st_mode)) {
            snprintf(note, n, "it is a symbolic link to a %s, not to a regular file",
                     file_type_name(sb.st_mode));
            return -1;
        }
        return 0;
    }
    if (!S_ISREG(sb.st_mode)) {
        snprintf(note, n, "it is a %s, not a regular file", file_type_name(sb.st_mode));
        return -1;
    }
    return 0;
}

/* Before a long run: the path is not a regular file, or its directory does
 * not exist or is not writable. The save itself reports anything else. */
int cli_check_output_path(const char *path, const char *what)
{
    struct stat sb;
    char note[160];
    if (check_target_type(path, note, sizeof note) != 0) {
        cli_errorf("cannot save %s to '%s': %s", what, path, note);
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

/* ---- atomic output files ----
 * The same scheme as the library's saves (docs/reliability.md): the
 * temporary is "<target>.rbm-tmp.<pid>.XXXXXX" beside the target, stale
 * ones of dead processes are removed first, and only a regular file (or the
 * regular file a symbolic link names) is replaced. */

/* The pid in name when name is exactly "<base>.rbm-tmp.<pid>.<6 alnum>",
 * else 0. */
static long temp_pid(const char *name, const char *base)
{
    static const char mark[] = ".rbm-tmp.";
    size_t bl = strlen(base), ml = sizeof mark - 1;
    if (strncmp(name, base, bl) != 0 || strncmp(name + bl, mark, ml) != 0)
        return 0;
    const char *p = name + bl + ml;
    if (*p == '0')
        return 0;
    long pid = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 10; p++, digits++)
        pid = pid * 10 + (*p - '0');
    if (digits == 0 || *p != '.')
        return 0;
    p++;
    for (int i = 0; i < 6; i++) {
        char c = p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return p[6] == '\0' ? pid : 0;
}

static void remove_stale_temps(const char *target)
{
    const char *slash = strrchr(target, '/');
    char *dir = slash ? path_prefix_suffix(target, slash == target ? 1 : (size_t)(slash - target), "")
                      : path_prefix_suffix(".", 1, "");
    const char *base = slash ? slash + 1 : target;
    DIR *d = dir ? opendir(dir) : NULL;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            long pid = temp_pid(e->d_name, base);
            if (pid <= 0 || pid == (long)getpid())
                continue;
            struct stat sb;
            if ((kill((pid_t)pid, 0) != 0 && errno == ESRCH) &&
                fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISREG(sb.st_mode))
                unlinkat(dirfd(d), e->d_name, 0);
        }
        closedir(d);
    }
    free(dir);
}

int cli_start_output(struct cli_outfile *of, const char *path)
{
    of->f = NULL;
    of->path = path;
    of->tmp = NULL;
    of->target = NULL;
    char note[160];
    if (check_target_type(path, note, sizeof note) != 0) {
        cli_errorf("cannot save to '%s': %s", path, note);
        return -1;
    }
    struct stat sb;
    if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode))
        of->target = realpath(path, NULL);
    else
        of->target = cli_path_suffix(path, "");
    char suffix[48];
    snprintf(suffix, sizeof suffix, ".rbm-tmp.%ld.XXXXXX", (long)getpid());
    of->tmp = of->target ? cli_path_suffix(of->target, suffix) : NULL;
    if (!of->tmp) {
        cli_errorf("cannot save to '%s': %s", path, of->target ? "out of memory" : strerror(errno));
        free(of->target);
        of->target = NULL;
        return -1;
    }
    remove_stale_temps(of->target);
    int fd = mkstemp(of->tmp);
    if (fd < 0) {
        cli_errorf("cannot create '%s': %s", of->tmp, strerror(errno));
        goto fail;
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
        goto fail;
    }
    return 0;
fail:
    free(of->tmp);
    free(of->target);
    of->tmp = NULL;
    of->target = NULL;
    return -1;
}

int cli_finish_output(struct cli_outfile *of, int ok)
{
    int err = 0;
    if (ok && (fflush(of->f) != 0 || ferror(of->f) || fsync(fileno(of->f)) != 0))
        err = errno ? errno : EIO;
    if (fclose(of->f) != 0 && ok && !err)
        err = errno ? errno : EIO;
    of->f = NULL;
    char note[160] = "";
    if (ok && !err && check_target_type(of->target, note, sizeof note) != 0)
        err = -1; /* something not regular appeared at the target meanwhile */
    if (ok && !err && rename(of->tmp, of->target) != 0)
        err = errno;
    int rc = 0;
    if (!ok || err) {
        unlink(of->tmp);
        if (ok)
            cli_errorf("cannot write '%s': %s", of->path, err < 0 ? note : strerror(err));
        rc = -1;
    }
    free(of->tmp);
    free(of->target);
    of->tmp = NULL;
    of->target = NULL;
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
