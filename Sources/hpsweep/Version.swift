import Foundation

/// The git commit of the checkout this binary was built from, if that checkout is still where it
/// was built (read from .git without running git); recorded in journals for provenance.
let buildCommit: String? = {
    var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    for _ in 0..<4 {
        let git = directory.appendingPathComponent(".git")
        if let head = try? String(contentsOf: git.appendingPathComponent("HEAD"), encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
        {
            guard head.hasPrefix("ref: ") else { return String(head.prefix(12)) }
            let ref = String(head.dropFirst(5))
            if let hash = try? String(contentsOf: git.appendingPathComponent(ref), encoding: .utf8) {
                return String(hash.prefix(12))
            }
            let packed = (try? String(contentsOf: git.appendingPathComponent("packed-refs"), encoding: .utf8)) ?? ""
            return packed.split(separator: "\n").first { $0.hasSuffix(" " + ref) }.map { String($0.prefix(12)) }
        }
        directory.deleteLastPathComponent()
    }
    return nil
}()
