#include "baseline.h"
#include <isa-l/erasure_code.h>
#include <stdlib.h>
#include <string.h>

struct baseline_code {
    int k, m;
    unsigned char *matrix;        /* (k+m) x k, gf_gen_cauchy1_matrix */
    unsigned char *encode_tables; /* 32 * k * m */
    unsigned char *decode_tables; /* 32 * k * nlost */
    unsigned char products[256][256];
    int survivors[255], lost[255], nlost;
};

baseline_code *baseline_create(int k, int m) {
    baseline_code *c = calloc(1, sizeof *c);
    c->k = k;
    c->m = m;
    c->matrix = malloc((size_t)(k + m) * k);
    c->encode_tables = malloc((size_t)32 * k * (m ? m : 1));
    c->decode_tables = malloc((size_t)32 * k * (m ? m : 1));
    gf_gen_cauchy1_matrix(c->matrix, k + m, k);
    ec_init_tables(k, m, c->matrix + k * k, c->encode_tables);
    for (int a = 0; a < 256; a++)
        for (int b = 0; b < 256; b++)
            c->products[a][b] = gf_mul((unsigned char)a, (unsigned char)b);
    return c;
}

void baseline_destroy(baseline_code *c) {
    free(c->matrix);
    free(c->encode_tables);
    free(c->decode_tables);
    free(c);
}

void baseline_isal_encode(baseline_code *c, int len, unsigned char **shards) {
    ec_encode_data(len, c->k, c->m, c->encode_tables, shards, shards + c->k);
}

int baseline_isal_prepare_decode(baseline_code *c, const int *lost, int nlost) {
    int k = c->k, n = c->k + c->m;
    unsigned char is_lost[255] = {0};
    unsigned char b[255 * 255], inverse[255 * 255], rows[255 * 255];
    for (int i = 0; i < nlost; i++) is_lost[lost[i]] = 1;
    for (int i = 0, s = 0; i < n && s < k; i++)
        if (!is_lost[i]) c->survivors[s++] = i;
    for (int r = 0; r < k; r++) memcpy(b + r * k, c->matrix + c->survivors[r] * k, k);
    if (gf_invert_matrix(b, inverse, k) < 0) return -1;
    for (int i = 0; i < nlost; i++) {
        int t = lost[i];
        if (t < k) {
            memcpy(rows + i * k, inverse + t * k, k);
        } else {
            for (int j = 0; j < k; j++) {
                unsigned char s = 0;
                for (int x = 0; x < k; x++) s ^= gf_mul(c->matrix[t * k + x], inverse[x * k + j]);
                rows[i * k + j] = s;
            }
        }
        c->lost[i] = t;
    }
    c->nlost = nlost;
    ec_init_tables(k, nlost, rows, c->decode_tables);
    return 0;
}

void baseline_isal_decode(baseline_code *c, int len, unsigned char **shards) {
    unsigned char *in[255], *out[255];
    for (int i = 0; i < c->k; i++) in[i] = shards[c->survivors[i]];
    for (int i = 0; i < c->nlost; i++) out[i] = shards[c->lost[i]];
    ec_encode_data(len, c->k, c->nlost, c->decode_tables, in, out);
}

void baseline_table_encode(baseline_code *c, int len, unsigned char **shards) {
    int k = c->k;
    for (int p = 0; p < c->m; p++) {
        const unsigned char *row = c->matrix + (k + p) * k;
        unsigned char *out = shards[k + p];
        memset(out, 0, (size_t)len);
        for (int j = 0; j < k; j++) {
            const unsigned char *table = c->products[row[j]];
            const unsigned char *in = shards[j];
            for (int i = 0; i < len; i++) out[i] ^= table[in[i]];
        }
    }
}
