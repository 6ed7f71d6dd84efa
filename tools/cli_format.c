/* cli_format.c — how the rbm program writes numbers: JSON members, rates,
 * durations, seconds, reconstruction errors and log-likelihoods, and the
 * final flush of stdout. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

double cli_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_fmt_rate(char *buf, size_t n, double x)
{
    if (!(x >= 0) || !isfinite(x))
        snprintf(buf, n, "-");
    else if (x < 1e4)
        snprintf(buf, n, "%.0f", x);
    else if (x < 1e6)
        snprintf(buf, n, "%.1fk", x / 1e3);
    else if (x < 1e9)
        snprintf(buf, n, "%.2fM", x / 1e6);
    else
        snprintf(buf, n, "%.2fG", x / 1e9);
}

void cli_fmt_duration(char *buf, size_t n, double s)
{
    if (!(s >= 0) || !isfinite(s) || s > 1e8) {
        snprintf(buf, n, "--:--");
        return;
    }
    unsigned long t = (unsigned long)(s + 0.5);
    unsigned long h = t / 3600, m = (t / 60) % 60, sec = t % 60;
    if (h > 0)
        snprintf(buf, n, "%lu:%02lu:%02lu", h, m, sec);
    else
        snprintf(buf, n, "%lu:%02lu", m, sec);
}

void cli_fmt_seconds(char *buf, size_t n, double s)
{
    if (s >= 1)
        snprintf(buf, n, "%.2f s", s);
    else if (s >= 0.01)
        snprintf(buf, n, "%.3f s", s);
    else
        snprintf(buf, n, "%.3g s", s);
}

void cli_fmt_recon(char *buf, size_t n, double r)
{
    if (isnan(r))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.4g", r);
}

void cli_fmt_ll(char *buf, size_t n, double ll)
{
    if (isnan(ll))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.4f", ll);
}

void cli_print_time_line(double seconds)
{
    char time_s[32];
    cli_fmt_seconds(time_s, sizeof time_s, seconds);
    printf("time        %s\n", time_s);
}

int cli_flush_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_errorf("cannot write to standard output: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int cli_cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* ---- JSON ---- */

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
        }
    }
    fputc('"', f);
}

void cli_json_number(FILE *f, double x)
{
    if (isfinite(x))
        fprintf(f, "%.17g", x);
    else
        fputs("null", f);
}

void cli_json_numbers(FILE *f, const double *x, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", f);
        cli_json_number(f, x[i]);
    }
    fputc(']', f);
}

void cli_json_key(FILE *f, int *first, const char *key)
{
    fputs(*first ? "{" : ",", f);
    *first = 0;
    fputs("\n  ", f);
    cli_json_string(f, key);
    fputs(": ", f);
}

void cli_json_real(FILE *f, int *first, const char *key, double x)
{
    cli_json_key(f, first, key);
    cli_json_number(f, x);
}

void cli_json_str(FILE *f, int *first, const char *key, const char *s)
{
    cli_json_key(f, first, key);
    cli_json_string(f, s);
}

void cli_json_str_or_null(FILE *f, int *first, const char *key, const char *s)
{
    cli_json_key(f, first, key);
    if (s)
        cli_json_string(f, s);
    else
        fputs("null", f);
}

void cli_json_size(FILE *f, int *first, const char *key, size_t n)
{
    cli_json_key(f, first, key);
    fprintf(f, "%zu", n);
}

void cli_json_u64(FILE *f, int *first, const char *key, uint64_t n)
{
    cli_json_key(f, first, key);
    fprintf(f, "%llu", (unsigned long long)n);
}

void cli_json_bool(FILE *f, int *first, const char *key, int b)
{
    cli_json_key(f, first, key);
    fputs(b ? "true" : "false", f);
}

void cli_json_header(FILE *f, int *first, const char *command)
{
    cli_json_str(f, first, "command", command);
    cli_json_str(f, first, "version", rbm_version_string());
}
