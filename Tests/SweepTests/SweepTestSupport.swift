import Foundation
import XCTest

/// The bundled digits (sweeps/data/digits), absolute.
let digitsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("sweeps/data/digits").path

/// A sweep file on the digits through the random `vit-tiny-test`, with `search` (JSON members without
/// braces) appended after the backbone/data/cache sections; written into `dir`.
func writeDigitsSweep(in dir: URL, name: String = "t", cache: String = "\"dir\": \"cache\"", search: String) throws
    -> String
{
    let splits = ["train800", "val200", "train800val200", "test"].map {
        "\"\($0)\": {\"images\": \"\(digitsDirectory)/\($0)_images.npy\", \"labels\": \"\(digitsDirectory)/\($0)_labels.npy\"}"
    }.joined(separator: ", ")
    let text = """
        {"name": "\(name)", "backbone": {"random": "vit-tiny-test", "seed": 0},
         "data": {"format": "numpy", "classes": 10, "splits": {\(splits)}},
         "cache": {\(cache)}\(search.isEmpty ? "" : ",\n \(search)")}
        """
    let path = dir.appendingPathComponent("\(name).json").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}
