/// The 19 tasks of VTAB-1k (Zhai et al. 2019) as side-tuning papers report them: name (the folder in
/// the NOAH/FacT layout, `<root>/<task>/`), class count, group, and the other names the task goes by.
public struct VTABTask: Sendable {
    public enum Group: String, CaseIterable, Sendable {
        case natural = "Natural"
        case specialized = "Specialized"
        case structured = "Structured"
    }
    public let name: String
    public let classes: Int
    public let group: Group
    public let aliases: [String]

    public static let all: [VTABTask] = [
        .init(name: "cifar", classes: 100, group: .natural, aliases: ["cifar100", "cifar_100"]),
        .init(name: "caltech101", classes: 102, group: .natural, aliases: ["caltech_101"]),
        .init(name: "dtd", classes: 47, group: .natural, aliases: []),
        .init(name: "oxford_flowers102", classes: 102, group: .natural, aliases: ["flowers102", "flowers"]),
        .init(name: "oxford_iiit_pet", classes: 37, group: .natural, aliases: ["pets", "oxford_pet"]),
        .init(name: "svhn", classes: 10, group: .natural, aliases: []),
        .init(name: "sun397", classes: 397, group: .natural, aliases: ["sun"]),
        .init(name: "patch_camelyon", classes: 2, group: .specialized, aliases: ["camelyon", "pcam"]),
        .init(name: "eurosat", classes: 10, group: .specialized, aliases: []),
        .init(name: "resisc45", classes: 45, group: .specialized, aliases: []),
        .init(name: "diabetic_retinopathy", classes: 5, group: .specialized, aliases: ["retinopathy"]),
        .init(name: "clevr_count", classes: 8, group: .structured, aliases: ["clevr_count_all"]),
        .init(name: "clevr_dist", classes: 6, group: .structured, aliases: ["clevr_closest_object_distance"]),
        .init(name: "dmlab", classes: 6, group: .structured, aliases: []),
        .init(name: "kitti", classes: 4, group: .structured, aliases: ["kitti_dist"]),
        .init(name: "dsprites_loc", classes: 16, group: .structured, aliases: ["dsprites_label_x_position"]),
        .init(name: "dsprites_ori", classes: 16, group: .structured, aliases: ["dsprites_label_orientation"]),
        .init(name: "smallnorb_azi", classes: 18, group: .structured, aliases: ["smallnorb_label_azimuth"]),
        .init(name: "smallnorb_ele", classes: 9, group: .structured, aliases: ["smallnorb_label_elevation"]),
    ]

    /// The task called `name` or one of its aliases.
    public static func named(_ name: String) -> VTABTask? {
        let key = name.lowercased()
        return all.first { $0.name == key || $0.aliases.contains(key) }
    }
}
