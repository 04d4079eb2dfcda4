import Foundation
import FuzzTargets

// Built by scripts/fuzz with -sanitize=fuzzer,address and -DFUZZING: libFuzzer drives
// LLVMFuzzerTestOneInput, the target named by HPSWEEP_FUZZ_TARGET. Built normally, it replays files:
// `hpsweep-fuzz TARGET FILE…` (how crashes found by the fuzzer are reproduced).

#if FUZZING
    let target: FuzzTarget = {
        guard let name = ProcessInfo.processInfo.environment["HPSWEEP_FUZZ_TARGET"],
            let target = FuzzTarget(rawValue: name)
        else {
            fatalError("set HPSWEEP_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue))")
        }
        return target
    }()

    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOne(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
        target.run(Data(bytes: bytes, count: count))
        return 0
    }

    // SwiftPM points the executable's `main` at this symbol, so libFuzzer's own main is not linked:
    // start its driver from here.
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
    ) -> CInt

    @_cdecl("hpsweep_fuzz_main")
    public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        var count = argc
        var arguments = argv
        return LLVMFuzzerRunDriver(&count, &arguments) { fuzzOne($0, $1) }
    }
#else
    @main
    struct Replay {
        static func main() {
            let arguments = CommandLine.arguments.dropFirst()
            guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
                print(
                    "usage: hpsweep-fuzz TARGET FILE…  (targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))"
                )
                exit(2)
            }
            for path in arguments.dropFirst() {
                guard let data = FileManager.default.contents(atPath: path) else {
                    print("\(path): cannot read"); exit(1)
                }
                target.run(data)
                print("\(path): ok")
            }
        }
    }
#endif
