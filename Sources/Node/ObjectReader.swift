import ClusterModel
import Erasure
import Foundation
import Logging
import Metrics
import NIOCore
import Placement
import Storage

extension ObjectService {
    /// The newest version of an object (a quorum read of its metadata).
    public func head(bucket: BucketID, key: String) async throws(ObjectError) -> ObjectVersion {
        let routing = await node.routing()
        guard let record = try await metadata.read(bucket: bucket, key: key, routing: routing), let version = record.version else {
            throw .noSuchKey
        }
        return version
    }

    /// Whether enough shards of `version` sit on reachable nodes to read it;
    /// checked before an answer's headers go out.
    public func checkReadable(_ version: ObjectVersion, bucket: BucketID, key: String) async throws(ObjectError) {
        guard version.size > 0 else { return }
        let routing = await node.routing()
        guard let layout = routing.layout(version.layoutVersion) else { throw .unreadable("layout version \(version.layoutVersion) is unknown here") }
        let owners = layout.owners(of: PartitionID(bucket: bucket, key: key))
        let available = version.storedSlots.filter { $0 < owners.count && routing.reachable(owners[$0]) }.count
        guard available >= version.dataShards else {
            throw .unavailable("\(available) shards reachable, \(version.dataShards) needed")
        }
    }

    /// Streams bytes `range` of `version` to `emit`, block by block. Reads
    /// the k data shards (no decoding on the healthy path); a shard that is
    /// missing, unreachable or corrupt is replaced by a parity shard from
    /// that block on and the data rebuilt in the same request. Only the
    /// blocks the range touches are fetched.
    public func read(_ version: ObjectVersion, bucket: BucketID, key: String, range: Range<UInt64>,
                     emit: (ByteBuffer) async throws -> Void) async throws(ObjectError) {
        guard !range.isEmpty, range.upperBound <= version.size else { return }
        let routing = await node.routing()
        guard let layout = routing.layout(version.layoutVersion) else { throw .unreadable("layout version \(version.layoutVersion) is unknown here") }
        let owners = layout.owners(of: PartitionID(bucket: bucket, key: key))
        let code: ErasureCode
        let codec: ReedSolomon
        do {
            code = try ErasureCode(dataShards: version.dataShards, parityShards: version.parityShards)
            codec = try ReedSolomon(code)
        } catch { throw .internalError("\(error)") }
        guard let format = Self.shardFormat(size: version.size, blockSize: version.blockSizeBytes, code: code) else { return }
        let blockSize = UInt64(version.blockSizeBytes)
        let firstBlock = Int(range.lowerBound / blockSize)
        let lastBlock = Int((range.upperBound - 1) / blockSize)
        let stripe = StripeBuffer(code: code, maxBlockLength: version.blockSizeBytes)

        var sources: [Int: any ShardSource] = [:]
        var failed = Set((0..<code.totalShards).filter { !version.storedSlots.contains($0) || $0 >= owners.count })
        for slot in 0..<code.totalShards where !failed.contains(slot) && !routing.reachable(owners[slot]) { failed.insert(slot) }

        func open(_ slot: Int, at block: Int) async -> (any ShardSource)? {
            let key = ShardKey(versionID: version.versionID, slot: slot)!
            let owner = owners[slot]
            do throws(NodeError) {
                if owner == routing.selfID { return try LocalShardSource(store: shards, key: key, firstChunk: block, logger: logger) }
                guard let address = routing.addresses[owner] else { return nil }
                let query = ShardQuery(key: key, format: format, chunks: block..<(lastBlock + 1))
                let response = try await node.client.stream(.shardGet, query: query.text, at: address, expected: owner, body: nil,
                                                             timeout: .seconds(60 + Int64(ShardWire.length(of: format, chunks: query.chunks) / 10_000_000)))
                return RemoteShardSource(response: response)
            } catch {
                logger.warning("shard unavailable", metadata: ["shard": "\(key)", "error": "\(error)"])
                return nil
            }
        }

        for block in firstBlock...lastBlock {
            let blockStart = UInt64(block) * blockSize
            let blockLength = Int(min(blockSize, version.size - blockStart))
            do { try stripe.prepare(blockLength: blockLength) } catch { throw .internalError("\(error)") }
            var have = ShardSet()
            for slot in sources.keys.sorted() {
                do { try await sources[slot]!.next(into: stripe.shard(slot), length: stripe.shardLength); have.insert(slot) } catch {
                    logger.warning("shard read failed; reading parity instead", metadata: ["slot": "\(slot)", "error": "\(error)"])
                    sources[slot] = nil
                    failed.insert(slot)
                }
            }
            // Data slots first (no decoding), parity only to replace what is missing.
            var candidate = 0
            while have.count < code.dataShards {
                while candidate < code.totalShards && (failed.contains(candidate) || sources[candidate] != nil) { candidate += 1 }
                guard candidate < code.totalShards else {
                    throw .unreadable("block \(block): \(have.count) of \(code.dataShards) needed shards readable")
                }
                let slot = candidate
                guard let source = await open(slot, at: block) else { failed.insert(slot); continue }
                do { try await source.next(into: stripe.shard(slot), length: stripe.shardLength) } catch {
                    logger.warning("shard read failed", metadata: ["slot": "\(slot)", "error": "\(error)"])
                    failed.insert(slot)
                    continue
                }
                sources[slot] = source
                have.insert(slot)
            }
            let missingData = ShardSet((0..<code.dataShards).filter { !have.contains($0) })
            if !missingData.isEmpty {
                let missing = ShardSet((0..<code.totalShards).filter { !have.contains($0) })
                do { try codec.reconstruct(stripe, missing: missing, rebuild: missingData) } catch { throw .internalError("\(error)") }
                Counter(label: "shale_degraded_blocks_total").increment()
            }
            let from = Int(max(range.lowerBound, blockStart) - blockStart)
            let to = Int(min(range.upperBound, blockStart + UInt64(blockLength)) - blockStart)
            do { try await emit(Self.slice(of: stripe, from: from, to: to)) } catch { throw .internalError("client went away: \(error)") }
        }
    }

    /// Bytes [from, to) of the stripe's block, copied once from the data shards.
    static func slice(of stripe: StripeBuffer, from: Int, to: Int) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: to - from)
        var position = from
        while position < to {
            let shard = position / stripe.shardLength
            let offset = position % stripe.shardLength
            let n = min(stripe.shardLength - offset, to - position)
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: stripe.shard(shard)[offset..<(offset + n)]))
            position += n
        }
        return buffer
    }
}
