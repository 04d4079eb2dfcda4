// Which OpenBLAS kernel (core type) this process runs, and the choice of a better one.
//
// OpenBLAS picks its kernels when the library loads, from the CPU's family and model. Debian's
// 0.3.21 does not know every current CPU and then falls back to generic SSE3 kernels (Prescott) on
// CPUs that have AVX-512: sgemm 7x slower. OPENBLAS_CORETYPE overrides the choice, but is read only
// when the library initialises, so a constructor in this file (run before main, after OpenBLAS has
// loaded) compares OpenBLAS's choice with what the CPU offers and, when the choice is a fallback,
// sets OPENBLAS_CORETYPE and re-executes the process once. A user's own OPENBLAS_CORETYPE wins.
#ifndef HPSWEEP_BLAS_KERNEL_H
#define HPSWEEP_BLAS_KERNEL_H

#ifdef __cplusplus
extern "C" {
#endif

/// The widest vector ISA a CPU offers (and its operating system enables), in OpenBLAS's kernel tiers.
typedef enum {
    HPSWEEP_ISA_SSE = 0,     // SSE2/SSE3 only
    HPSWEEP_ISA_AVX = 1,     // AVX (Sandybridge, Bulldozer kernels)
    HPSWEEP_ISA_AVX2 = 2,    // AVX2 + FMA (Haswell, Zen kernels)
    HPSWEEP_ISA_AVX512 = 3,  // AVX-512 F/CD/BW/DQ/VL (SkylakeX, Cooperlake kernels)
} hpsweep_isa_level;

typedef enum {
    HPSWEEP_VENDOR_OTHER = 0,
    HPSWEEP_VENDOR_INTEL = 1,
    HPSWEEP_VENDOR_AMD = 2,   // AMD and Hygon
} hpsweep_cpu_vendor;

/// How the kernel in use came to be chosen.
typedef enum {
    HPSWEEP_KERNEL_OPENBLAS = 0,         // OpenBLAS's own choice, which suits this CPU
    HPSWEEP_KERNEL_CHOSEN = 1,           // hpsweep replaced OpenBLAS's fallback (re-executed once)
    HPSWEEP_KERNEL_USER = 2,             // the user's OPENBLAS_CORETYPE
    HPSWEEP_KERNEL_REEXEC_FAILED = 3,    // a better kernel exists but the process could not re-execute
    HPSWEEP_KERNEL_NOT_APPLIED = 4,      // hpsweep asked OpenBLAS for a kernel and OpenBLAS ran another
    HPSWEEP_KERNEL_WRONG_RESULTS = 5,    // hpsweep's choice failed the start-up sgemm check; OpenBLAS's own kept
    HPSWEEP_KERNEL_FOREIGN_CHOICE = 6,   // an inherited choice made on another CPU was dropped
} hpsweep_kernel_origin;

/// The kernel tier of an OpenBLAS core name (as openblas_get_corename prints it, any case);
/// -1 for "Unknown" or a name this table does not know.
int hpsweep_blas_core_level(const char *core);

/// The core type to set in OPENBLAS_CORETYPE instead of `current`, or NULL when `current` already
/// uses the widest vector unit the CPU offers (nothing to gain).
const char *hpsweep_blas_better_core(const char *current, hpsweep_isa_level cpu, hpsweep_cpu_vendor vendor);

/// This CPU, read with cpuid and xgetbv.
hpsweep_isa_level hpsweep_cpu_isa_level(void);
hpsweep_cpu_vendor hpsweep_cpu_vendor_id(void);
/// Display family and model (extended fields folded in, as /proc/cpuinfo shows them); -1 off x86.
int hpsweep_cpu_family(void);
int hpsweep_cpu_model(void);

/// What the start-up check decided, for the run header, bench output and provenance.
hpsweep_kernel_origin hpsweep_blas_kernel_origin(void);
/// OpenBLAS's own choice when hpsweep replaced or would replace it ("" otherwise).
const char *hpsweep_blas_default_core(void);
/// A one-line reason when the origin is a failure ("" otherwise).
const char *hpsweep_blas_kernel_problem(void);

/// A 24x20x28 sgemm on small integers (exact in float) against a naive loop: 1 if equal.
int hpsweep_blas_sgemm_self_check(void);

#ifdef __cplusplus
}
#endif

#endif
