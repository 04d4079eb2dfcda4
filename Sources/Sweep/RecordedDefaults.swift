import Foundation

extension SearchSpec {
    /// A sweep begun before some hyperparameters existed, resumed by a later hpsweep, goes on with the
    /// values its trials trained with (each one's `absentValue`) wherever the sweep file leaves it at the
    /// default: a changed default must neither retrain finished trials nor mix two recipes in one
    /// leaderboard. Returns the adjusted spec and what was kept ("init=timm (last, lst)"), empty when
    /// no trial of a method that reads the hyperparameter was recorded without it.
    public func keepingRecordedDefaults(of state: SweepState) -> (SearchSpec, kept: [String]) {
        var adjusted = self, kept: [String] = []
        for parameter in catalogue.hyperparameters where parameter.addedLater {
            var readers: [String] = []
            for (m, space) in methods.enumerated() {
                let byDefault = parameter.defaultValue(for: space.method)
                // Any trial without the value means the sweep began before it (later trials have it: kept then).
                guard byDefault != parameter.absentValue,
                    let k = space.parameters.firstIndex(where: { $0.name == parameter.name }),
                    space.parameters[k].domain == .fixed(byDefault),
                    state.records.contains(where: { $0.method == space.method && $0.values[parameter.name] == nil })
                else { continue }
                adjusted.methods[m].parameters[k].domain = .fixed(parameter.absentValue)
                readers.append(space.method)
            }
            if !readers.isEmpty {
                kept.append("\(parameter.name)=\(parameter.absentValue) (\(readers.joined(separator: ", ")))")
            }
        }
        return (adjusted, kept)
    }
}
