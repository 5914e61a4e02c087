import ClusterModel
import Foundation
import Placement
import Synchronization

/// Carries row writes to a peer replica in batches: while a peer already
/// has `callsPerPeer` merges in flight, further rows for it wait and go
/// together in the next call, one message and one SQLite transaction on the
/// replica for all of them. An idle peer gets a row at once, so a lone write
/// waits for nothing; under load (many PUTs in flight) the per-call cost of
/// the RPC channel — an HTTP/2 stream, its frames through TLS, the server's
/// request handling — is shared by every row in the batch (Docs/benchmarks.md).
///
/// A batch is sent by a task of its own, which goes on with the rows that
/// gathered while it was out and ends when none wait: at most `callsPerPeer`
/// such tasks per peer, each call bounded by the RPC deadline, so no row
/// waits longer than a few calls' deadlines.
final class MergeBatcher: Sendable {
    static let callsPerPeer = 2
    static let maxRows = 64

    private struct Waiting {
        let record: ObjectRecord
        let reply: CheckedContinuation<MergeOutcome?, any Error>
    }

    private struct Peer {
        var waiting: [Waiting] = []
        var inFlight = 0

        /// The next batch when a call may start now (and counts it as started).
        mutating func nextBatch() -> [Waiting]? {
            guard !waiting.isEmpty, inFlight < MergeBatcher.callsPerPeer else { return nil }
            let batch = Array(waiting.prefix(MergeBatcher.maxRows))
            waiting.removeFirst(batch.count)
            inFlight += 1
            return batch
        }
    }

    private let peers = Mutex<[NodeID: Peer]>([:])
    private let transport: any PeerTransport

    init(transport: any PeerTransport) { self.transport = transport }

    /// Rows waiting for a call to `node` (for tests).
    func waiting(for node: NodeID) -> Int { peers.withLock { $0[node]?.waiting.count ?? 0 } }

    /// Merges `record` into `node`'s replica; its outcome there, or nil from
    /// a replica of an earlier build (which answers merges without outcomes).
    func merge(_ record: ObjectRecord, into node: NodeID, at address: HostPort) async throws -> MergeOutcome? {
        try await withCheckedThrowingContinuation { reply in
            let batch = peers.withLock { peers in
                peers[node, default: Peer()].waiting.append(Waiting(record: record, reply: reply))
                return peers[node]!.nextBatch()
            }
            if let batch { Task { await self.send(batch, to: node, at: address) } }
        }
    }

    private func send(_ first: [Waiting], to node: NodeID, at address: HostPort) async {
        var batch = first
        while true {
            do {
                let body = try JSONEncoder().encode(MetadataMergeMessage(records: batch.map(\.record), report: true))
                let answer = try await transport.call(.metadataMerge, to: node, at: address, body: body)
                let outcomes = try JSONDecoder().decode(MetadataMergeReply.self, from: answer).outcomes
                let known = outcomes?.count == batch.count ? outcomes : nil
                for (index, waiting) in batch.enumerated() { waiting.reply.resume(returning: known?[index]) }
            } catch {
                for waiting in batch { waiting.reply.resume(throwing: error) }
            }
            let next = peers.withLock { peers in
                peers[node]!.inFlight -= 1
                return peers[node]!.nextBatch()
            }
            guard let next else { return }
            batch = next
        }
    }
}
