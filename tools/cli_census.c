/* cli_census.c — the provenance of a model's training data: the text 'rbm
 * train' records in the model file (rbm_machine_set_provenance) and the
 * lookup of its keys by the analysis commands (cli_data.c). */
#include "cli.h"

#include <string.h>

void cli_record_provenance(rbm_machine *m, const char *data, uint64_t seed,
                           rbm_unit_kind visible, const struct cli_data_info *di)
{
    char text[4096 + 512];
    snprintf(text, sizeof text,
             "librbm-provenance 1\ndata=%s\ndata_seed=%llu\nrows=%zu\ncols=%zu\nvisible=%s\n"
             "transform=%s\n",
             data, (unsigned long long)seed, di->rows, di->cols, cli_unit_name(visible),
             di->transform);
    /* optional metadata: a failure only loses it */
    rbm_machine_set_provenance(m, text);
}

const char *cli_provenance_value(const char *prov, const char *key, char *buf, size_t len)
{
    size_t kl = strlen(key);
    for (const char *line = prov; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t ll = nl ? (size_t)(nl - line) : strlen(line);
        if (ll > kl && memcmp(line, key, kl) == 0 && line[kl] == '=') {
            size_t vl = ll - kl - 1;
            if (vl == 0 || vl >= len)
                return NULL;
            memcpy(buf, line + kl + 1, vl);
            buf[vl] = '\0';
            return buf;
        }
        line = nl ? nl + 1 : NULL;
    }
    return NULL;
}
