import ClusterModel
import Erasure
import Logging
import Metrics
import NIOCore
import Placement
import Storage

/// Reads an object version stripe by stripe from any k of its shards:
/// data shards first (no decoding on the healthy path), parity only to
/// replace a shard that is missing, unreachable or corrupt — from that
/// block on. `targets` names shards to rebuild besides missing data.
/// One task drives it; blocks are read in increasing order.
final class StripeReader {
    let version: ObjectVersion
    let code: ErasureCode
    let codec: ReedSolomon
    let format: ShardFileFormat
    let stripe: StripeBuffer
    let owners: [NodeID]
    let routing: ClusterNode.Routing
    let service: ObjectService
    let lastBlock: Int
    /// Shards found damaged or missing while reading (for the repair queue).
    private(set) var damaged: Set<Int> = []
    private var sources: [Int: any ShardSource] = [:]
    private var failed: Set<Int>

    init(_ version: ObjectVersion, owners: [NodeID], routing: ClusterNode.Routing, service: ObjectService,
         blocks: ClosedRange<Int>, excluding excluded: Set<Int> = []) throws(ObjectError) {
        self.version = version
        self.owners = owners
        self.routing = routing
        self.service = service
        lastBlock = blocks.upperBound
        do {
            code = try ErasureCode(dataShards: version.dataShards, parityShards: version.parityShards)
            codec = try ReedSolomon(code)
        } catch { throw .internalError("\(error)") }
        guard let format = ObjectService.shardFormat(size: version.size, blockSize: version.blockSizeBytes, code: code) else {
            throw .internalError("no shards in an empty object")
        }
        self.format = format
        stripe = StripeBuffer(code: code, maxBlockLength: version.blockSizeBytes)
        failed = excluded.union((0..<code.totalShards).filter { !version.storedSlots.contains($0) || $0 >= owners.count })
        for slot in 0..<min(code.totalShards, owners.count) where !failed.contains(slot) && !routing.reachable(owners[slot]) {
            failed.insert(slot)
        }
    }

    var logger: Logger { service.logger }

    /// Fills the stripe for `block`: all data shards, plus `targets` rebuilt.
    func read(block: Int, rebuilding targets: ShardSet = ShardSet()) async throws(ObjectError) -> StripeBuffer {
        let blockStart = UInt64(block) * UInt64(version.blockSizeBytes)
        let blockLength = Int(min(UInt64(version.blockSizeBytes), version.size - blockStart))
        do { try stripe.prepare(blockLength: blockLength) } catch { throw .internalError("\(error)") }
        var have = ShardSet()
        let length = stripe.shardLength
        let reads = sources.map { (slot, source) in (slot, source, ShardBuffer(stripe.shard(slot))) }
        // Every source at once: remote shards stream in parallel, not one network hop after another.
        let outcomes = await withTaskGroup(of: (Int, NodeError?).self) { group in
            for (slot, source, buffer) in reads {
                group.addTask {
                    do throws(NodeError) { try await source.next(into: buffer.bytes, length: length); return (slot, nil) } catch {
                        return (slot, error)
                    }
                }
            }
            var outcomes: [(Int, NodeError?)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        for (slot, error) in outcomes {
            if let error { lost(slot, error) } else { have.insert(slot) }
        }
        var candidate = 0
        while have.count < code.dataShards {
            while candidate < code.totalShards && (failed.contains(candidate) || sources[candidate] != nil) { candidate += 1 }
            guard candidate < code.totalShards else {
                throw .unreadable("block \(block): \(have.count) of \(code.dataShards) needed shards readable")
            }
            let slot = candidate
            guard let source = await open(slot, at: block) else { continue }
            do { try await source.next(into: stripe.shard(slot), length: stripe.shardLength) } catch {
                lost(slot, error)
                continue
            }
            sources[slot] = source
            have.insert(slot)
        }
        let rebuild = ShardSet((0..<code.dataShards).filter { !have.contains($0) }).union(ShardSet(targets.filter { !have.contains($0) }))
        if !rebuild.isEmpty {
            let missing = ShardSet((0..<code.totalShards).filter { !have.contains($0) })
            do { try codec.reconstruct(stripe, missing: missing, rebuild: rebuild) } catch { throw .internalError("\(error)") }
            Counter(label: "shale_degraded_blocks_total").increment()
        }
        return stripe
    }

    private func lost(_ slot: Int, _ error: NodeError) {
        logger.warning("shard read failed; reading parity instead", metadata: ["slot": "\(slot)", "error": "\(error)"])
        sources[slot] = nil
        failed.insert(slot)
        damaged.insert(slot)
    }

    private func open(_ slot: Int, at block: Int) async -> (any ShardSource)? {
        let key = ShardKey(versionID: version.versionID, slot: slot)!
        let owner = owners[slot]
        do throws(NodeError) {
            if owner == routing.selfID {
                return try LocalShardSource(store: service.shards, key: key, firstChunk: block, logger: logger)
            }
            guard let address = routing.addresses[owner] else { throw .peer("no address for \(owner.shortForm)") }
            let query = ShardQuery(key: key, format: format, chunks: block..<(lastBlock + 1))
            let timeout = TimeAmount.seconds(60 + Int64(ShardWire.length(of: format, chunks: query.chunks) / 10_000_000))
            let response = try await service.node.client.stream(.shardGet, query: query.text, at: address, expected: owner,
                                                                 body: nil, timeout: timeout)
            return RemoteShardSource(response: response)
        } catch {
            logger.warning("shard unavailable", metadata: ["shard": "\(key)", "error": "\(error)"])
            failed.insert(slot)
            // Missing on a reachable node (not merely unreachable): worth repairing.
            if case .shardMissing = error { damaged.insert(slot) }
            return nil
        }
    }
}

/// One shard's bytes in the stripe, handed to the task filling it (each
/// task gets a different shard, and the stripe outlives the tasks).
struct ShardBuffer: @unchecked Sendable {
    let bytes: UnsafeMutableRawBufferPointer
    init(_ bytes: UnsafeMutableRawBufferPointer) { self.bytes = bytes }
}
