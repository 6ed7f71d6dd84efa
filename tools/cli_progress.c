/* cli_progress.c — the progress display on stderr (one line redrawn after a
 * carriage return on a terminal; the commands print plain lines otherwise)
 * and the SIGINT/SIGTERM handling that lets a long run stop cleanly. */
#include "cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__linux__) || defined(__APPLE__) || defined(__unix__)
#include <sys/ioctl.h>
#endif

static int terminal_columns(void)
{
    int cols = 0;
#ifdef TIOCGWINSZ
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        cols = ws.ws_col;
#endif
    if (cols <= 0) {
        const char *c = getenv("COLUMNS");
        if (c && *c) {
            long v = strtol(c, NULL, 10);
            if (v > 0 && v < 10000)
                cols = (int)v;
        }
    }
    if (cols <= 0)
        cols = 80;
    return cols;
}

void cli_progress_init(struct cli_progress *p, int quiet)
{
    memset(p, 0, sizeof *p);
    p->last_draw = -1e300;
    if (quiet)
        p->mode = PROGRESS_NONE;
    else if (isatty(STDERR_FILENO))
        p->mode = PROGRESS_TTY;
    else
        p->mode = PROGRESS_LINES;
    if (p->mode == PROGRESS_TTY)
        p->columns = terminal_columns();
}

int cli_progress_due(const struct cli_progress *p, double now, int final)
{
    return p->mode == PROGRESS_TTY && (now - p->last_draw >= 0.1 || final);
}

void cli_progress_show(struct cli_progress *p, const char *left, double fraction,
                       const char *right)
{
    char line[512];
    /* the bar of the whole run takes what is left of the width, up to 30 */
    int avail = p->columns - 1 - (int)strlen(left) - (int)strlen(right) - 2;
    if (avail > 30)
        avail = 30;
    if (!(fraction >= 0))
        fraction = 0;
    if (fraction > 1)
        fraction = 1;
    if (avail >= 8) {
        char bar[64];
        int fill = (int)(fraction * avail + 1e-9);
        for (int i = 0; i < avail; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[avail] = '\0';
        snprintf(line, sizeof line, "%s[%s]%s", left, bar, right);
    } else {
        snprintf(line, sizeof line, "%s%3d%%%s", left, (int)(fraction * 100), right);
    }
    size_t len = strlen(line);
    if (p->columns > 1 && len > (size_t)(p->columns - 1)) {
        len = (size_t)(p->columns - 1);
        line[len] = '\0';
    }
    fputc('\r', stderr);
    fputs(line, stderr);
    /* blank out what remains of a longer previous line */
    for (size_t i = len; i < p->last_len; i++)
        fputc(' ', stderr);
    fflush(stderr);
    p->last_len = len;
    p->line_open = 1;
}

void cli_progress_close(struct cli_progress *p)
{
    if (p->line_open) {
        fputc('\n', stderr);
        fflush(stderr);
        p->line_open = 0;
    }
}

/* ---- interruption ---- */

static volatile sig_atomic_t g_interrupted = 0; /* number of the signal received */

static void on_signal(int sig)
{
    g_interrupted = sig;
}

int cli_interrupted(void)
{
    return (int)g_interrupted;
}

const char *cli_signal_verb(int sig)
{
    return sig == SIGINT ? "interrupted" : "terminated";
}

void cli_install_signal_handlers(void)
{
    const int sigs[2] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND;
        sigaction(sigs[i], &sa, NULL);
    }
}

void cli_restore_signal_handlers(void)
{
    const int sigs[2] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) {
        struct sigaction cur;
        if (sigaction(sigs[i], NULL, &cur) != 0 || cur.sa_handler != on_signal)
            continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}
