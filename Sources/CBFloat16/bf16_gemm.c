#include "bf16_gemm.h"

#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

enum { MR = HPS_BF16_MR, NR = HPS_BF16_NR };
// K is walked in blocks of KC pairs so that one B micro-panel (NR × KC pairs, 24 KiB) stays in L1
// while MR-row slices of an MC-row block of A stream from L2.
enum { KC = 192, MC = MR * 20 };

uint16_t hps_bf16_from_float(float x) {
    uint32_t bits;
    memcpy(&bits, &x, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40);  // quiet NaN
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

float hps_bf16_to_float(uint16_t x) {
    uint32_t bits = (uint32_t)x << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static int pairs(int k) { return (k + 1) / 2; }

size_t hps_bf16_packed_b_count(int k, int n) {
    return (size_t)((n + NR - 1) / NR) * (size_t)pairs(k) * NR * 2;
}

void hps_bf16_pack_b(int k, int n, const float *b, int ldb, int trans_b, uint16_t *packed) {
    int k2 = pairs(k);
    for (int panel = 0; panel * NR < n; panel++) {
        uint16_t *out = packed + (size_t)panel * k2 * NR * 2;
        for (int p = 0; p < k2; p++) {
            for (int j = 0; j < NR; j++) {
                int col = panel * NR + j;
                for (int half = 0; half < 2; half++) {
                    int row = 2 * p + half;
                    float value = 0;
                    if (col < n && row < k)
                        value = trans_b ? b[(size_t)col * ldb + row] : b[(size_t)row * ldb + col];
                    *out++ = hps_bf16_from_float(value);
                }
            }
        }
    }
}

static void round_rows_scalar(int row_begin, int row_end, int cols, const float *src, int ld_src, int trans,
                              uint16_t *dst, int ld_dst) {
    for (int i = row_begin; i < row_end; i++) {
        uint16_t *out = dst + (size_t)i * ld_dst;
        for (int j = 0; j < cols; j++)
            out[j] = hps_bf16_from_float(trans ? src[(size_t)j * ld_src + i] : src[(size_t)i * ld_src + j]);
        for (int j = cols; j < ld_dst; j++) out[j] = 0;
    }
}

// One MR × NR tile over kp pairs: what vdpbf16ps does per lane (odd product added first, then the
// even one, each rounded to fp32; bf16 products are exact in fp32), in plain C.
static void tile_scalar(int rows, int kp, const uint16_t *a, int lda, const uint16_t *pb, float acc[MR][NR]) {
    for (int p = 0; p < kp; p++) {
        const uint16_t *bp = pb + (size_t)p * NR * 2;
        for (int i = 0; i < rows; i++) {
            float a0 = hps_bf16_to_float(a[(size_t)i * lda + 2 * p]), a1 = hps_bf16_to_float(a[(size_t)i * lda + 2 * p + 1]);
            for (int j = 0; j < NR; j++) {
                float sum = acc[i][j];
                sum += a1 * hps_bf16_to_float(bp[2 * j + 1]);
                sum += a0 * hps_bf16_to_float(bp[2 * j]);
                acc[i][j] = sum;
            }
        }
    }
}

#if defined(__x86_64__)
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

int hps_bf16_hardware(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    if (!(ebx & (1u << 16)) || !(ebx & (1u << 30))) return 0;                              // AVX512F, AVX512BW
    if (!__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) || !(eax & (1u << 5))) return 0;  // AVX512_BF16
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 27))) return 0;          // OSXSAVE
    unsigned lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 0xe6u) == 0xe6u;  // XMM, YMM, opmask and ZMM state saved by the OS
}

// Row-major rounding 16 at a time with vcvtneps2bf16 (round to nearest even, as the scalar path).
BF16_TARGET
static void round_rows_avx512(int row_begin, int row_end, int cols, const float *src, int ld_src,
                              uint16_t *dst, int ld_dst) {
    for (int i = row_begin; i < row_end; i++) {
        const float *in = src + (size_t)i * ld_src;
        uint16_t *out = dst + (size_t)i * ld_dst;
        int j = 0;
        for (; j + 16 <= cols; j += 16)
            _mm256_storeu_si256((__m256i *)(out + j), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(in + j)));
        for (; j < cols; j++) out[j] = hps_bf16_from_float(in[j]);
        for (; j < ld_dst; j++) out[j] = 0;
    }
}

// The tile with vdpbf16ps: 24 accumulators (12 rows × 2 vectors of 16 columns), each row's A pair
// broadcast from memory. Rows past `rows` reuse the last valid row (their results are not stored).
BF16_TARGET
static void tile_avx512(int kp, const uint16_t *a, int lda, const uint16_t *pb, float *c, int ldc,
                        int rows, int cols, int accumulate) {
    __m512 acc[MR][2];
    const uint16_t *row[MR];
    for (int i = 0; i < MR; i++) {
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
        row[i] = a + (size_t)(i < rows ? i : rows - 1) * lda;
    }
    for (int p = 0; p < kp; p++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(pb + (size_t)p * NR * 2);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(pb + (size_t)p * NR * 2 + 32);
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) {
            int32_t pair;
            memcpy(&pair, row[i] + 2 * p, 4);
            __m512bh broadcast = (__m512bh)_mm512_set1_epi32(pair);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], broadcast, b0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], broadcast, b1);
        }
    }
    __mmask16 mask0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
    __mmask16 mask1 = cols >= 32 ? 0xffff : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
    for (int i = 0; i < rows; i++) {
        float *out = c + (size_t)i * ldc;
        __m512 v0 = acc[i][0], v1 = acc[i][1];
        if (accumulate) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(mask0, out));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(mask1, out + 16));
        }
        _mm512_mask_storeu_ps(out, mask0, v0);
        _mm512_mask_storeu_ps(out + 16, mask1, v1);
    }
}
#else
int hps_bf16_hardware(void) { return 0; }
#endif

void hps_bf16_round_rows(int row_begin, int row_end, int cols, const float *src, int ld_src, int trans,
                         uint16_t *dst, int ld_dst, int use_hardware) {
#if defined(__x86_64__)
    if (use_hardware && !trans) {
        round_rows_avx512(row_begin, row_end, cols, src, ld_src, dst, ld_dst);
        return;
    }
#endif
    round_rows_scalar(row_begin, row_end, cols, src, ld_src, trans, dst, ld_dst);
}

static void tile(int kp, const uint16_t *a, int lda, const uint16_t *pb, float *c, int ldc,
                 int rows, int cols, int accumulate, int use_hardware) {
#if defined(__x86_64__)
    if (use_hardware) {
        tile_avx512(kp, a, lda, pb, c, ldc, rows, cols, accumulate);
        return;
    }
#endif
    float acc[MR][NR] = {{0}};
    tile_scalar(rows, kp, a, lda, pb, acc);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            c[(size_t)i * ldc + j] = accumulate ? c[(size_t)i * ldc + j] + acc[i][j] : acc[i][j];
}

void hps_bf16_gemm(int m_begin, int m_end, int n, int k, const uint16_t *a, int lda,
                   const uint16_t *packed_b, float beta, float *c, int ldc, int use_hardware) {
    int k2 = pairs(k);
    if (beta != 0 && beta != 1) {
        for (int i = m_begin; i < m_end; i++)
            for (int j = 0; j < n; j++) c[(size_t)i * ldc + j] *= beta;
    }
    if (k2 == 0) {
        if (beta == 0)
            for (int i = m_begin; i < m_end; i++) memset(c + (size_t)i * ldc, 0, (size_t)n * sizeof(float));
        return;
    }
    for (int p0 = 0; p0 < k2; p0 += KC) {
        int kp = k2 - p0 < KC ? k2 - p0 : KC;
        int accumulate = p0 > 0 || beta != 0;
        for (int i0 = m_begin; i0 < m_end; i0 += MC) {
            int i_end = i0 + MC < m_end ? i0 + MC : m_end;
            for (int j0 = 0; j0 < n; j0 += NR) {
                const uint16_t *pb = packed_b + ((size_t)(j0 / NR) * k2 + p0) * NR * 2;
                int cols = n - j0 < NR ? n - j0 : NR;
                for (int i = i0; i < i_end; i += MR) {
                    int rows = i_end - i < MR ? i_end - i : MR;
                    tile(kp, a + (size_t)i * lda + 2 * p0, lda, pb, c + (size_t)i * ldc + j0, ldc, rows, cols,
                         accumulate, use_hardware);
                }
            }
        }
    }
}
