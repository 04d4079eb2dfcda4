import CBLAS
import CBLASKernel
import Foundation

/// Which OpenBLAS build and kernel this process computes with, and how that kernel was chosen.
///
/// OpenBLAS picks its kernel (core type) from the CPU model when it loads; a version that does not
/// know the CPU falls back to generic SSE3 kernels even on an AVX-512 machine. A constructor in
/// `CBLASKernel` runs before `main`, compares OpenBLAS's choice with what the CPU offers, and
/// re-executes the process once with `OPENBLAS_CORETYPE` set when the choice is a fallback (a user's
/// own `OPENBLAS_CORETYPE` wins). This type reports what came of it. Results differ in the last bits
/// between kernels, so the kernel is recorded with every sweep's results.
public struct BLASKernel: Sendable, Equatable {
    public enum Origin: String, Sendable {
        case openBLAS = "OpenBLAS's own choice"
        case chosen = "chosen by hpsweep"
        case user = "set by OPENBLAS_CORETYPE"
        case reexecFailed = "fallback kept: could not re-execute"
        case notApplied = "hpsweep's choice not applied"
        case wrongResults = "hpsweep's choice failed the self-check"
        case foreignChoice = "inherited choice dropped"
    }

    /// "OpenBLAS 0.3.21".
    public let library: String
    /// The core type OpenBLAS runs, as it names it ("SkylakeX", "Zen", "Prescott", …).
    public let core: String
    public let origin: Origin
    /// OpenBLAS's own choice, when hpsweep replaced it.
    public let openBLASChoice: String?
    /// Why the kernel is not the best this CPU can run, when it is not.
    public let problem: String?
    /// "pthread", "OpenMP" or "sequential".
    public let threading: String

    /// This process's kernel.
    public static let current: BLASKernel = {
        let config = String(cString: openblas_get_config())
        let words = config.split(separator: " ")
        let library =
            words.count >= 2 && words[0] == "OpenBLAS"
            ? "OpenBLAS \(words[1])" : (words.first.map(String.init) ?? "OpenBLAS")
        let origin: Origin =
            switch hpsweep_blas_kernel_origin() {
            case HPSWEEP_KERNEL_CHOSEN: .chosen
            case HPSWEEP_KERNEL_USER: .user
            case HPSWEEP_KERNEL_REEXEC_FAILED: .reexecFailed
            case HPSWEEP_KERNEL_NOT_APPLIED: .notApplied
            case HPSWEEP_KERNEL_WRONG_RESULTS: .wrongResults
            case HPSWEEP_KERNEL_FOREIGN_CHOICE: .foreignChoice
            default: .openBLAS
            }
        let defaultCore = String(cString: hpsweep_blas_default_core())
        let problem = String(cString: hpsweep_blas_kernel_problem())
        let threading =
            switch openblas_get_parallel() {
            case 0: "sequential";
            case 2: "OpenMP";
            default: "pthread"
            }
        return BLASKernel(
            library: library, core: String(cString: openblas_get_corename()), origin: origin,
            openBLASChoice: defaultCore.isEmpty ? nil : defaultCore,
            problem: problem.isEmpty ? nil : problem, threading: threading)
    }()

    /// The kernel tier of a core name (0 SSE, 1 AVX, 2 AVX2+FMA, 3 AVX-512); nil if unknown.
    public static func level(ofCore core: String) -> Int? {
        let level = Int(hpsweep_blas_core_level(core))
        return level < 0 ? nil : level
    }

    /// The core type hpsweep sets instead of `core` on a CPU of `cpuLevel` (the tiers of
    /// `level(ofCore:)`), or nil when `core` already uses the CPU's widest vector unit.
    public static func betterCore(than core: String, cpuLevel: Int, amd: Bool) -> String? {
        let isa = hpsweep_isa_level(rawValue: UInt32(max(0, min(3, cpuLevel))))
        return hpsweep_blas_better_core(core, isa, amd ? HPSWEEP_VENDOR_AMD : HPSWEEP_VENDOR_INTEL).map {
            String(cString: $0)
        }
    }

    /// Whether this CPU is AMD's (or Hygon's): AVX2 then means the Zen kernels.
    public static var cpuIsAMD: Bool { hpsweep_cpu_vendor_id() == HPSWEEP_VENDOR_AMD }

    /// This CPU's tier, read with cpuid/xgetbv (what the start-up choice used).
    public static var cpuLevel: Int { Int(hpsweep_cpu_isa_level().rawValue) }

    /// Whether a small sgemm on integers gives exact results with this kernel.
    public static func selfCheckPasses() -> Bool { hpsweep_blas_sgemm_self_check() == 1 }

    /// "OpenBLAS 0.3.21 SkylakeX": what provenance columns record and `compare` sets side by side.
    public var provenance: String { "\(library) \(core)" }

    /// One line for headers: "OpenBLAS 0.3.21 (pthread), kernel SkylakeX (chosen by hpsweep; OpenBLAS chose Prescott)".
    public var summary: String {
        var how = origin.rawValue
        if origin == .chosen, let own = openBLASChoice { how += "; OpenBLAS chose \(own)" }
        return "\(library) (\(threading)), kernel \(core) (\(how))"
    }
}

/// The processor, as /proc/cpuinfo names it, with family and model (figures do not carry across CPUs).
public struct CPUDescription: Sendable, Equatable {
    public let modelName: String
    public let family: Int
    public let model: Int

    public static let current: CPUDescription = {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let name =
            cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        return CPUDescription(modelName: name, family: Int(hpsweep_cpu_family()), model: Int(hpsweep_cpu_model()))
    }()

    /// "AMD EPYC (family 25 model 1)".
    public var summary: String { family < 0 ? modelName : "\(modelName) (family \(family) model \(model))" }
}
