// See include/blas_kernel.h. Environment variables this file sets (and reads back after re-executing):
//   OPENBLAS_CORETYPE               the kernel OpenBLAS is to use (OpenBLAS reads it when it loads)
//   HPSWEEP_OPENBLAS_CORETYPE       the same name, saying that hpsweep (not the user) set it
//   HPSWEEP_OPENBLAS_DEFAULT_CORE   OpenBLAS's own choice, for the report
//   HPSWEEP_OPENBLAS_REJECTED       a choice that failed the sgemm self-check (never tried again)
//   HPSWEEP_OPENBLAS_DROPPED        an inherited choice made on a CPU with a wider vector unit
// Child processes inherit them, so a worker started by hpsweep runs the same kernel without re-executing.
#define _GNU_SOURCE
#include "blas_kernel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

// OpenBLAS's own entry points (declared here rather than through cblas.h, whose location varies).
extern char *openblas_get_corename(void);
extern void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha,
                        const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

// MARK: - Kernel tiers and the choice

static const struct { const char *name; int level; } core_levels[] = {
    {"Katmai", 0}, {"Coppermine", 0}, {"Northwood", 0}, {"Prescott", 0}, {"Banias", 0}, {"Atom", 0},
    {"Core2", 0}, {"Penryn", 0}, {"Dunnington", 0}, {"Nehalem", 0}, {"Athlon", 0}, {"Opteron", 0},
    {"Opteron_SSE3", 0}, {"Barcelona", 0}, {"Nano", 0}, {"Bobcat", 0},
    {"Sandybridge", 1}, {"Bulldozer", 1}, {"Piledriver", 1}, {"Steamroller", 1}, {"Excavator", 1},
    {"Haswell", 2}, {"Zen", 2},
    {"SkylakeX", 3}, {"Cooperlake", 3}, {"SapphireRapids", 3},
};

int hpsweep_blas_core_level(const char *core) {
    if (core == NULL) return -1;
    for (size_t i = 0; i < sizeof core_levels / sizeof core_levels[0]; i++)
        if (strcasecmp(core, core_levels[i].name) == 0) return core_levels[i].level;
    return -1;
}

const char *hpsweep_blas_better_core(const char *current, hpsweep_isa_level cpu, hpsweep_cpu_vendor vendor) {
    if (hpsweep_blas_core_level(current) >= (int)cpu) return NULL;
    switch (cpu) {
    // SkylakeX, not Cooperlake, on AVX-512 CPUs that OpenBLAS does not know: on the Xeon of family 6
    // model 207 both gave the same sgemm rate and SkylakeX a faster ViT forward (docs/benchmarks.md).
    case HPSWEEP_ISA_AVX512: return "SkylakeX";
    case HPSWEEP_ISA_AVX2: return vendor == HPSWEEP_VENDOR_AMD ? "Zen" : "Haswell";
    case HPSWEEP_ISA_AVX: return vendor == HPSWEEP_VENDOR_AMD ? "Bulldozer" : "Sandybridge";
    case HPSWEEP_ISA_SSE: return hpsweep_blas_core_level(current) < 0 ? "Prescott" : NULL;
    }
    return NULL;
}

// MARK: - This CPU

#if defined(__x86_64__) || defined(__i386__)
static unsigned long long xgetbv0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}
#endif

hpsweep_isa_level hpsweep_cpu_isa_level(void) {
#if defined(__x86_64__) || defined(__i386__)
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return HPSWEEP_ISA_SSE;
    int osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1, fma = (ecx >> 12) & 1;
    if (!osxsave || !avx) return HPSWEEP_ISA_SSE;
    unsigned long long xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return HPSWEEP_ISA_SSE;          // the OS saves no YMM state
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return HPSWEEP_ISA_AVX;
    int avx2 = (ebx >> 5) & 1;
    if (!avx2 || !fma) return HPSWEEP_ISA_AVX;
    unsigned int avx512 = (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31);  // F DQ CD BW VL
    if ((ebx & avx512) == avx512 && (xcr0 & 0xE6) == 0xE6) return HPSWEEP_ISA_AVX512;
    return HPSWEEP_ISA_AVX2;
#else
    return HPSWEEP_ISA_SSE;
#endif
}

hpsweep_cpu_vendor hpsweep_cpu_vendor_id(void) {
#if defined(__x86_64__) || defined(__i386__)
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return HPSWEEP_VENDOR_OTHER;
    char vendor[13];
    memcpy(vendor, &ebx, 4); memcpy(vendor + 4, &edx, 4); memcpy(vendor + 8, &ecx, 4); vendor[12] = 0;
    if (strcmp(vendor, "GenuineIntel") == 0) return HPSWEEP_VENDOR_INTEL;
    if (strcmp(vendor, "AuthenticAMD") == 0 || strcmp(vendor, "HygonGenuine") == 0) return HPSWEEP_VENDOR_AMD;
#endif
    return HPSWEEP_VENDOR_OTHER;
}

static int cpu_signature(int want_model) {
#if defined(__x86_64__) || defined(__i386__)
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return -1;
    int family = (eax >> 8) & 0xF, model = (eax >> 4) & 0xF;
    int ext_family = (eax >> 20) & 0xFF, ext_model = (eax >> 16) & 0xF;
    if (want_model) return (family == 6 || family == 15) ? model + (ext_model << 4) : model;
    return family == 15 ? family + ext_family : family;
#else
    (void)want_model;
    return -1;
#endif
}

int hpsweep_cpu_family(void) { return cpu_signature(0); }
int hpsweep_cpu_model(void) { return cpu_signature(1); }

// MARK: - The self-check

int hpsweep_blas_sgemm_self_check(void) {
    enum { M = 24, N = 20, K = 28 };
    float a[M * K], b[N * K], c[M * N];
    for (int i = 0; i < M * K; i++) a[i] = (float)((i * 7) % 11 - 5);
    for (int i = 0; i < N * K; i++) b[i] = (float)((i * 5) % 13 - 6);
    // C = A · Bᵀ, row-major (CblasRowMajor 101, CblasNoTrans 111, CblasTrans 112): the backbone's form.
    cblas_sgemm(101, 111, 112, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float sum = 0;
            for (int p = 0; p < K; p++) sum += a[i * K + p] * b[j * K + p];
            if (c[i * N + j] != sum) return 0;
        }
    return 1;
}

// MARK: - The start-up decision

static hpsweep_kernel_origin origin = HPSWEEP_KERNEL_OPENBLAS;
static char default_core[32];
static char problem[320];

hpsweep_kernel_origin hpsweep_blas_kernel_origin(void) { return origin; }
const char *hpsweep_blas_default_core(void) { return default_core; }
const char *hpsweep_blas_kernel_problem(void) { return problem; }

static void reexecute(char **argv) {
    execv("/proc/self/exe", argv);
    // Only reached when exec failed; the caller reports it.
}

// Re-executes without hpsweep's choice, leaving `marker`=`core` to tell the next process why.
static void reexecute_without_choice(char **argv, const char *marker, const char *core) {
    setenv(marker, core, 1);
    unsetenv("OPENBLAS_CORETYPE"); unsetenv("HPSWEEP_OPENBLAS_CORETYPE"); unsetenv("HPSWEEP_OPENBLAS_DEFAULT_CORE");
    reexecute(argv);
}

__attribute__((constructor))
static void hpsweep_choose_blas_kernel(int argc, char **argv, char **envp) {
    (void)argc; (void)envp;
    const char *current = openblas_get_corename();
    const char *user = getenv("OPENBLAS_CORETYPE");
    const char *ours = getenv("HPSWEEP_OPENBLAS_CORETYPE");
    const char *rejected = getenv("HPSWEEP_OPENBLAS_REJECTED");
    const char *dropped = getenv("HPSWEEP_OPENBLAS_DROPPED");
    hpsweep_isa_level cpu = hpsweep_cpu_isa_level();
    if (getenv("HPSWEEP_OPENBLAS_DEFAULT_CORE"))
        snprintf(default_core, sizeof default_core, "%s", getenv("HPSWEEP_OPENBLAS_DEFAULT_CORE"));

    if (user && !(ours && strcasecmp(user, ours) == 0)) { origin = HPSWEEP_KERNEL_USER; return; }

    if (user && ours) {                                     // chosen by hpsweep, here or in a parent
        if (hpsweep_blas_core_level(ours) > (int)cpu) {     // inherited from a process on another CPU
            reexecute_without_choice(argv, "HPSWEEP_OPENBLAS_DROPPED", ours);
            origin = HPSWEEP_KERNEL_REEXEC_FAILED;
            snprintf(problem, sizeof problem, "OPENBLAS_CORETYPE=%s was inherited from a CPU with a wider vector unit and this process could not re-execute without it (%s)", ours, strerror(errno));
            return;
        }
        if (strcasecmp(current, ours) != 0) {
            origin = HPSWEEP_KERNEL_NOT_APPLIED;
            snprintf(problem, sizeof problem, "asked OpenBLAS for the %s kernel but it runs %s", ours, current);
            return;
        }
        if (!hpsweep_blas_sgemm_self_check()) {
            reexecute_without_choice(argv, "HPSWEEP_OPENBLAS_REJECTED", ours);
            origin = HPSWEEP_KERNEL_REEXEC_FAILED;
            snprintf(problem, sizeof problem, "the %s kernel failed the sgemm self-check and this process could not re-execute without it (%s)", ours, strerror(errno));
            return;
        }
        origin = HPSWEEP_KERNEL_CHOSEN;
        return;
    }

    // A test hook: pretend OpenBLAS chose this core, to exercise the re-execution on any machine.
    const char *pretend = getenv("HPSWEEP_TEST_PRETEND_OPENBLAS_CORE");
    const char *seen = pretend && *pretend ? pretend : current;
    const char *better = hpsweep_blas_better_core(seen, cpu, hpsweep_cpu_vendor_id());
    if (rejected) {
        origin = HPSWEEP_KERNEL_WRONG_RESULTS;
        snprintf(problem, sizeof problem, "the %s kernel failed the sgemm self-check; running OpenBLAS's own choice %s", rejected, current);
        return;
    }
    if (dropped && !better) {
        origin = HPSWEEP_KERNEL_FOREIGN_CHOICE;
        snprintf(problem, sizeof problem, "dropped the inherited OPENBLAS_CORETYPE=%s, made on a CPU with a wider vector unit", dropped);
        return;
    }
    if (!better) return;
    snprintf(default_core, sizeof default_core, "%s", seen);
    setenv("OPENBLAS_CORETYPE", better, 1);
    setenv("HPSWEEP_OPENBLAS_CORETYPE", better, 1);
    setenv("HPSWEEP_OPENBLAS_DEFAULT_CORE", seen, 1);
    unsetenv("HPSWEEP_TEST_PRETEND_OPENBLAS_CORE");
    reexecute(argv);
    int error = errno;
    unsetenv("OPENBLAS_CORETYPE"); unsetenv("HPSWEEP_OPENBLAS_CORETYPE"); unsetenv("HPSWEEP_OPENBLAS_DEFAULT_CORE");
    origin = HPSWEEP_KERNEL_REEXEC_FAILED;
    snprintf(problem, sizeof problem, "OpenBLAS chose its %s kernel on a CPU that can run %s, and this process could not re-execute with OPENBLAS_CORETYPE=%s (%s); set it yourself", seen, better, better, strerror(error));
}
