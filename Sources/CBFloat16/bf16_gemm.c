#include "bf16_gemm.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
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

static void pack_b_scalar(int k, int n, const float *b, int ldb, int trans_b, uint16_t *packed) {
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

// Transposed rounding, 16 output columns at a time: one gather reads them from 16 source rows. Rows
// of the output advance fastest, so a block's 16 source rows stay in L1 while it is read across.
BF16_TARGET
static void round_rows_transposed_avx512(int row_begin, int row_end, int cols, const float *src, int ld_src,
                                         uint16_t *dst, int ld_dst) {
    __m512i offsets = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi32(ld_src));
    int j = 0;
    for (; j + 16 <= cols; j += 16) {
        const float *block = src + (size_t)j * ld_src;
        for (int i = row_begin; i < row_end; i++) {
            __m512 column = _mm512_i32gather_ps(offsets, block + i, 4);
            _mm256_storeu_si256((__m256i *)(dst + (size_t)i * ld_dst + j), (__m256i)_mm512_cvtneps_pbh(column));
        }
    }
    for (int i = row_begin; i < row_end; i++) {
        uint16_t *out = dst + (size_t)i * ld_dst;
        for (int c = j; c < cols; c++) out[c] = hps_bf16_from_float(src[(size_t)c * ld_src + i]);
        for (int c = cols; c < ld_dst; c++) out[c] = 0;
    }
}

// Packing a row-major B (an activation as a weight gradient's right operand): rows 2p and 2p+1 of a
// panel's 32 columns are rounded together and interleaved into pairs, as pack_b_scalar lays them out.
BF16_TARGET
static void pack_b_avx512(int k, int n, const float *b, int ldb, uint16_t *packed) {
    int k2 = pairs(k);
    // cvtne2ps_pbh(odd, even) holds even row's 16 columns then odd row's; this interleaves them.
    __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                          23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (int panel = 0; panel * NR < n; panel++) {
        uint16_t *out = packed + (size_t)panel * k2 * NR * 2;
        int j0 = panel * NR, cols = n - j0 < NR ? n - j0 : NR;
        __mmask16 mask[2] = {cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1),
                             cols >= 32 ? 0xffff : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1)};
        for (int p = 0; p < k2; p++) {
            const float *even = b + (size_t)(2 * p) * ldb + j0, *odd = even + ldb;
            int has_odd = 2 * p + 1 < k;
            for (int half = 0; half < 2; half++) {
                __m512 e = _mm512_maskz_loadu_ps(mask[half], even + 16 * half);
                __m512 o = has_odd ? _mm512_maskz_loadu_ps(mask[half], odd + 16 * half) : _mm512_setzero_ps();
                __m512i both = (__m512i)_mm512_cvtne2ps_pbh(o, e);
                _mm512_storeu_si512(out + 32 * half, _mm512_permutexvar_epi16(interleave, both));
            }
            out += NR * 2;
        }
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

// AMX (Sapphire Rapids and later Xeons): tdpbf16ps multiplies a 16-row × 32-bf16 tile of A by a
// 16-pair × 16-column tile of B into a 16 × 16 fp32 tile, 16× the work of one vdpbf16ps. On Intel
// cores vdpbf16ps has no more throughput than fp32 FMA (one port), so bf16 pays there only through AMX.
// The packed B panels (pairs × 32 columns × 2) are already AMX's layout: a B tile is 16 pair-rows of
// one panel's first or second 16 columns (64 bytes each, 128 bytes apart).
#define AMX_TARGET __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl")))
enum { AMX_ROWS = 16, AMX_PAIRS = 16, AMX_MC = 256 };

typedef struct {
    uint8_t palette;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t bytes_per_row[16];
    uint8_t rows[16];
} tile_config;

int hps_bf16_amx(void) {
    static int state = -1;  // -1 unknown; the answer does not change within a process
    if (state >= 0) return state;
    unsigned eax, ebx, ecx, edx;
    state = 0;
    if (!hps_bf16_hardware()) return state;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) || !(edx & (1u << 22)) || !(edx & (1u << 24))) return state;  // AMX-BF16, AMX-TILE
    unsigned lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return state;  // XTILECFG and XTILEDATA state enabled by the OS
    // Linux hands out the 8 KiB tile state only on request (ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA).
    if (syscall(SYS_arch_prctl, 0x1023, 18) != 0) return state;
    state = 1;
    return state;
}

// Rows m_begin ..< m_end (a multiple of 16 apart) of C = A · B (+ C when accumulate), over all k2
// pairs: tiles 0–1 accumulate C's 16 × 32 block, 2 is A, 3–4 are B; 5–7 the same for the last
// k2 mod 16 pairs (shaped by the configuration, so nothing is read past a row or a panel).
AMX_TARGET
static void gemm_amx(int m_begin, int m_end, int n, int k2, const uint16_t *a, int lda, const uint16_t *packed_b,
                     int accumulate, float *c, int ldc) {
    int whole = k2 / AMX_PAIRS * AMX_PAIRS, tail = k2 - whole;
    tile_config config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 5; t++) { config.rows[t] = 16; config.bytes_per_row[t] = 64; }
    if (tail) {
        config.rows[5] = 16; config.bytes_per_row[5] = (uint16_t)(tail * 4);
        config.rows[6] = config.rows[7] = (uint8_t)tail; config.bytes_per_row[6] = config.bytes_per_row[7] = 64;
    }
    _tile_loadconfig(&config);
    float block[AMX_ROWS * NR] __attribute__((aligned(64)));
    for (int i0 = m_begin; i0 < m_end; i0 += AMX_MC) {
        int i_end = i0 + AMX_MC < m_end ? i0 + AMX_MC : m_end;
        for (int j0 = 0; j0 < n; j0 += NR) {
            const uint16_t *pb = packed_b + (size_t)(j0 / NR) * k2 * NR * 2;
            int cols = n - j0 < NR ? n - j0 : NR;
            __mmask16 mask0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
            __mmask16 mask1 = cols >= 32 ? 0xffff : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
            for (int i = i0; i < i_end; i += AMX_ROWS) {
                const uint16_t *row = a + (size_t)i * lda;
                _tile_zero(0);
                _tile_zero(1);
                for (int p = 0; p < whole; p += AMX_PAIRS) {
                    _tile_loadd(2, row + 2 * p, lda * 2);
                    _tile_loadd(3, pb + (size_t)p * NR * 2, NR * 4);
                    _tile_loadd(4, pb + (size_t)p * NR * 2 + 32, NR * 4);
                    _tile_dpbf16ps(0, 2, 3);
                    _tile_dpbf16ps(1, 2, 4);
                }
                if (tail) {
                    _tile_loadd(5, row + 2 * whole, lda * 2);
                    _tile_loadd(6, pb + (size_t)whole * NR * 2, NR * 4);
                    _tile_loadd(7, pb + (size_t)whole * NR * 2 + 32, NR * 4);
                    _tile_dpbf16ps(0, 5, 6);
                    _tile_dpbf16ps(1, 5, 7);
                }
                _tile_stored(0, block, NR * 4);
                _tile_stored(1, block + 16, NR * 4);
                for (int r = 0; r < AMX_ROWS; r++) {
                    float *out = c + (size_t)(i + r) * ldc + j0;
                    __m512 v0 = _mm512_load_ps(block + r * NR), v1 = _mm512_load_ps(block + r * NR + 16);
                    if (accumulate) {
                        v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(mask0, out));
                        v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(mask1, out + 16));
                    }
                    _mm512_mask_storeu_ps(out, mask0, v0);
                    _mm512_mask_storeu_ps(out + 16, mask1, v1);
                }
            }
        }
    }
    _tile_release();
}
#else
int hps_bf16_hardware(void) { return 0; }
int hps_bf16_amx(void) { return 0; }
#endif

void hps_bf16_round_rows(int row_begin, int row_end, int cols, const float *src, int ld_src, int trans,
                         uint16_t *dst, int ld_dst, int use_hardware) {
#if defined(__x86_64__)
    if (use_hardware) {
        if (trans) round_rows_transposed_avx512(row_begin, row_end, cols, src, ld_src, dst, ld_dst);
        else round_rows_avx512(row_begin, row_end, cols, src, ld_src, dst, ld_dst);
        return;
    }
#endif
    round_rows_scalar(row_begin, row_end, cols, src, ld_src, trans, dst, ld_dst);
}

void hps_bf16_pack_b(int k, int n, const float *b, int ldb, int trans_b, uint16_t *packed, int use_hardware) {
#if defined(__x86_64__)
    if (use_hardware && !trans_b) {
        pack_b_avx512(k, n, b, ldb, packed);
        return;
    }
#endif
    pack_b_scalar(k, n, b, ldb, trans_b, packed);
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
#if defined(__x86_64__)
    // AMX for every row: whole 16-row blocks in place, the rows left over through a zero-padded block,
    // so that a row's sums never depend on how the rows were split over threads.
    if (use_hardware == 2 && hps_bf16_amx()) {
        int amx_end = m_begin + (m_end - m_begin) / AMX_ROWS * AMX_ROWS, left = m_end - amx_end;
        if (amx_end > m_begin) gemm_amx(m_begin, amx_end, n, k2, a, lda, packed_b, beta != 0, c, ldc);
        if (left > 0) {
            uint16_t *rows = calloc((size_t)AMX_ROWS * lda, sizeof(uint16_t));
            float *block = calloc((size_t)AMX_ROWS * n, sizeof(float));
            if (rows && block) {
                memcpy(rows, a + (size_t)amx_end * lda, (size_t)left * lda * sizeof(uint16_t));
                for (int r = 0; r < left && beta != 0; r++) memcpy(block + (size_t)r * n, c + (size_t)(amx_end + r) * ldc, (size_t)n * sizeof(float));
                gemm_amx(0, AMX_ROWS, n, k2, rows, lda, packed_b, beta != 0, block, n);
                for (int r = 0; r < left; r++) memcpy(c + (size_t)(amx_end + r) * ldc, block + (size_t)r * n, (size_t)n * sizeof(float));
                free(rows);
                free(block);
                return;
            }
            free(rows);
            free(block);
            m_begin = amx_end;  // out of memory for 16 rows: the vdpbf16ps kernel takes them
        } else {
            return;
        }
    }
#endif
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
