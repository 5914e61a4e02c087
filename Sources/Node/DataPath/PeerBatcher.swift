import Foundation
import Placement
import Synchronization

/// Carries small calls to peers in batches: while a peer already has
/// `callsPerPeer` calls of this kind in flight (one for row merges, whose
/// replica commits each call with a sync; two for reads, which a GET waits
/// on), further items for it wait
/// and go together in the next call (one message, and on the replica one
/// SQLite transaction, for all of them). An idle peer gets an item at once,
/// so a lone request waits for nothing; under load (many PUTs or GETs in
/// flight) the per-call cost of the RPC channel — an HTTP/2 stream, its
/// frames through TLS, the server's request handling — is shared by every
/// item in the batch (Docs/benchmarks.md).
///
/// A batch is sent by a task of its own, which goes on with the items that
/// gathered while it was out and ends when none wait: at most
/// `callsPerPeer` such tasks per peer, each call bounded by the RPC
/// deadline, so no item waits longer than a few calls' deadlines.
final class PeerBatcher<Item: Sendable, Answer: Sendable>: Sendable {
    static var maxItems: Int { 64 }

    /// Sends one batch to a peer; answers in the items' order.
    typealias Send = @Sendable (_ items: [Item], _ node: NodeID, _ address: HostPort) async throws -> [Answer]

    private struct Waiting: Sendable {
        let item: Item
        let reply: CheckedContinuation<Answer, any Error>
    }

    private struct Peer: Sendable {
        var waiting: [Waiting] = []
        var inFlight = 0

        /// The next batch when a call may start now (and counts it as started).
        mutating func nextBatch(callsPerPeer: Int) -> [Waiting]? {
            guard !waiting.isEmpty, inFlight < callsPerPeer else { return nil }
            let batch = Array(waiting.prefix(PeerBatcher.maxItems))
            waiting.removeFirst(batch.count)
            inFlight += 1
            return batch
        }
    }

    private let peers = Mutex<[NodeID: Peer]>([:])
    private let send: Send
    /// Calls of this kind in flight to one peer at most.
    let callsPerPeer: Int

    init(callsPerPeer: Int, send: @escaping Send) {
        precondition(callsPerPeer >= 1)
        self.callsPerPeer = callsPerPeer
        self.send = send
    }

    /// Items waiting for a call to `node` (for tests).
    func waiting(for node: NodeID) -> Int { peers.withLock { $0[node]?.waiting.count ?? 0 } }

    /// Sends `item` to `node` with the others that gather; its answer.
    func call(_ item: Item, to node: NodeID, at address: HostPort) async throws -> Answer {
        try await withCheckedThrowingContinuation { reply in
            let batch = peers.withLock { peers in
                peers[node, default: Peer()].waiting.append(Waiting(item: item, reply: reply))
                return peers[node]!.nextBatch(callsPerPeer: callsPerPeer)
            }
            if let batch { Task { await self.run(batch, to: node, at: address) } }
        }
    }

    private func run(_ first: [Waiting], to node: NodeID, at address: HostPort) async {
        var batch = first
        while true {
            do {
                let answers = try await send(batch.map(\.item), node, address)
                guard answers.count == batch.count else { throw NodeError.peer("\(node.shortForm) answered \(answers.count) of \(batch.count) items") }
                for (waiting, answer) in zip(batch, answers) { waiting.reply.resume(returning: answer) }
            } catch {
                for waiting in batch { waiting.reply.resume(throwing: error) }
            }
            let next = peers.withLock { peers in
                peers[node]!.inFlight -= 1
                return peers[node]!.nextBatch(callsPerPeer: callsPerPeer)
            }
            guard let next else { return }
            batch = next
        }
    }
}
