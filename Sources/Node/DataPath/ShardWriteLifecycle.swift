/// One slot's shard write during a PUT (or a repair), as a state machine:
/// open → streaming → finishing → durable, or aborted from any state
/// before durable. Pure: the pipeline asks it before each step, so a shard
/// is never written after it was aborted, finished twice, or left
/// half-written (every path ends durable or aborted).
enum ShardWriteState: Equatable, Sendable {
    case open
    case streaming
    case finishing
    case durable
    case aborted

    enum Event: Equatable, Sendable {
        /// A chunk was handed to the sink.
        case chunkWritten
        /// The last chunk is written; the sink is asked to make the shard durable.
        case finishRequested
        /// The sink reported the shard durable (fsync, rename on its node).
        case finished
        /// A write or finish failed, the write quorum was lost, or the body failed its checks.
        case failed
    }

    var isTerminal: Bool { self == .durable || self == .aborted }

    /// The state after `event`, or nil when the event cannot happen in this state.
    func next(_ event: Event) -> ShardWriteState? {
        switch (self, event) {
        case (.open, .chunkWritten), (.streaming, .chunkWritten): return .streaming
        case (.open, .finishRequested), (.streaming, .finishRequested): return .finishing
        case (.finishing, .finished): return .durable
        case (.open, .failed), (.streaming, .failed), (.finishing, .failed): return .aborted
        default: return nil
        }
    }
}
