#ifndef HPSWEEP_BF16_GEMM_H
#define HPSWEEP_BF16_GEMM_H

#include <stddef.h>
#include <stdint.h>

// A bf16 × bf16 → fp32 GEMM for measuring what AVX512_BF16 (vdpbf16ps) buys over OpenBLAS's fp32
// sgemm (issue 14, part 3). Operands are packed once into panels of bf16 pairs (round to nearest
// even); products are accumulated in fp32. On CPUs without AVX512_BF16 a scalar path computes the
// same products (bf16 inputs, fp32 sums), so tests run everywhere.
//
// Operands:
//   A: bf16, row-major m × k with an even row stride lda (k rounded up to even, zero-padded): the
//      kernel broadcasts each row's consecutive pair (A[i][2p], A[i][2p+1]), so a bf16 activation
//      or cached tap is used as it is stored; fp32 activations are rounded into this form first.
//   B: packed once into ceil(n / NR) panels of k2 × NR pairs (k2 = ceil(k / 2), zero-padded):
//      panel[p][j] = (B[2p][j], B[2p+1][j]).

enum { HPS_BF16_MR = 12, HPS_BF16_NR = 32 };

// 1 when this CPU (and its OS) can run vdpbf16ps on 512-bit registers.
int hps_bf16_hardware(void);
// Whether AMX-BF16 tiles are usable (CPU, OS state, and Linux's permission, requested here once).
int hps_bf16_amx(void);

// Rows row_begin..<row_end of dst (row stride ld_dst, even) = bf16(op(src)), where op(src) is
// rows × cols: src row-major with row stride ld_src, or with trans stored cols × rows
// (op(src)[i][j] = src[j·ld_src + i]). Columns cols..<ld_dst are zeroed. Disjoint row ranges may run
// on separate threads.
void hps_bf16_round_rows(int row_begin, int row_end, int cols, const float *src, int ld_src, int trans,
                         uint16_t *dst, int ld_dst, int use_hardware);

// Elements (uint16_t) of packed B.
size_t hps_bf16_packed_b_count(int k, int n);
// B is k×n row-major with row stride ldb (or, with trans_b, stored n×k: B[p][j] = b[j·ldb + p]).
// use_hardware: row-major B through AVX-512 (the same bits as the scalar path).
void hps_bf16_pack_b(int k, int n, const float *b, int ldb, int trans_b, uint16_t *packed, int use_hardware);

// C[rows m_begin..<m_end, all n columns] = A·B + beta·C (beta 0 ignores C's old contents).
// use_hardware: 0 the scalar path, 1 vdpbf16ps (bitwise the scalar path), 2 AMX tiles where
// hps_bf16_amx() (same products, fp32 sums in another order), else 1. Disjoint row ranges may run on
// separate threads.
void hps_bf16_gemm(int m_begin, int m_end, int n, int k, const uint16_t *a, int lda,
                   const uint16_t *packed_b, float beta, float *c, int ldc, int use_hardware);

// fp32 → bf16, round to nearest even (NaN stays NaN).
uint16_t hps_bf16_from_float(float x);
float hps_bf16_to_float(uint16_t x);

#endif
