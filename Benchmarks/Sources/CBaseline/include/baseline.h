#ifndef SHALE_C_BASELINE_H
#define SHALE_C_BASELINE_H

/* A Reed-Solomon code set up the way ISA-L's own examples do it. */
typedef struct baseline_code baseline_code;

baseline_code *baseline_create(int k, int m);
void baseline_destroy(baseline_code *code);

/* ec_encode_data on shards[0..k) -> shards[k..k+m). */
void baseline_isal_encode(baseline_code *code, int len, unsigned char **shards);

/* Builds decode tables for losing `lost[0..nlost)`; returns 0 on success. */
int baseline_isal_prepare_decode(baseline_code *code, const int *lost, int nlost);

/* Rebuilds the prepared lost shards in place from the first k survivors. */
void baseline_isal_decode(baseline_code *code, int len, unsigned char **shards);

/* The same parity from a plain 256x256 product table, one byte at a time. */
void baseline_table_encode(baseline_code *code, int len, unsigned char **shards);

#endif
