/// Zones for nodes that joined without a role (a StatefulSet's pods): the
/// pod's ordinal — the number ending its hostname, `shale-4` — picks the
/// zone round-robin from the list, so `shale-0, shale-1, shale-2` land in
/// three zones and a scale-up keeps spreading; a node whose hostname ends
/// in no number takes the next zone in node-id order after the numbered ones.
public enum AutoAssignment {
    public struct Node: Sendable, Equatable {
        public let id: String
        public let hostname: String
        public init(id: String, hostname: String) { self.id = id; self.hostname = hostname }
    }

    /// The ordinal of a StatefulSet pod's hostname (`shale-12` → 12), nil for other names.
    public static func ordinal(of hostname: String) -> Int? {
        let name = hostname.split(separator: ".").first.map(String.init) ?? hostname
        guard let dash = name.lastIndex(of: "-") else { return nil }
        let digits = name[name.index(after: dash)...]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Int(digits)
    }

    /// Node id → zone.
    public static func zones(for nodes: [Node], zones: [String]) -> [String: String] {
        guard !zones.isEmpty else { return [:] }
        var assigned: [String: String] = [:]
        var next = 0
        for node in nodes.sorted(by: { (ordinal(of: $0.hostname) ?? .max, $0.id) < (ordinal(of: $1.hostname) ?? .max, $1.id) }) {
            if let ordinal = ordinal(of: node.hostname) {
                assigned[node.id] = zones[ordinal % zones.count]
                next = ordinal + 1
            } else {
                assigned[node.id] = zones[next % zones.count]
                next += 1
            }
        }
        return assigned
    }
}
