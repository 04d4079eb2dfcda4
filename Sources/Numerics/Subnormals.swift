import CBLASKernel

/// Subnormal floats (below 1.2e-38) on this thread. x86 cores take a microcode assist for each
/// arithmetic result or input that is subnormal, tens of times slower than a normal one, and attention's
/// exp of very negative scores and the gradients behind them produce whole rows of them.
public enum Subnormals {
    /// Flushes subnormal results to zero and reads subnormal inputs as zero on this thread and the
    /// threads it creates from now on.
    public static func flushToZero() { hpsweep_flush_subnormals() }
    public static var areFlushed: Bool { hpsweep_flushes_subnormals() != 0 }
}
