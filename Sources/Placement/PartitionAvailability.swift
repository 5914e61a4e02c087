/// What a partition can do with the nodes that answer now: every slot's
/// node up (full), at least k up so its objects read and rebuild (degraded),
/// or fewer than k (unavailable). A live view from heartbeats, for `status`
/// and the console's map; `rebuild verify` checks the shards themselves.
public enum PartitionAvailability: String, Sendable, CaseIterable, Codable {
    case full, degraded, unavailable
}

extension Layout {
    /// Each partition's availability, by partition index, given the nodes that answer.
    public func availability(reachable: Set<NodeID>) -> [PartitionAvailability] {
        partitions.map { owners in
            let up = owners.filter(reachable.contains).count
            if up == owners.count { return .full }
            return up >= code.dataShards ? .degraded : .unavailable
        }
    }
}
