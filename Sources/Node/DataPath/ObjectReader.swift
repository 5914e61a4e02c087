import AsyncAlgorithms
import ClusterModel
import Erasure
import Foundation
import Logging
import Metrics
import NIOCore
import Placement
import Storage

extension ObjectService {
    /// A version's shard owners as one routing snapshot sees them, checked
    /// readable: made before an answer's headers go out, used for its body.
    public struct ReadPlan: Sendable {
        public let version: ObjectVersion
        public let bucket: BucketID
        public let key: String
        /// Where the cluster's shards are (the owners of each of the
        /// version's bodies, in order); nil in a plan made by another store.
        let placement: (owners: [[NodeID]], routing: ClusterNode.Routing)?

        init(version: ObjectVersion, bucket: BucketID, key: String, owners: [[NodeID]], routing: ClusterNode.Routing) {
            self.version = version; self.bucket = bucket; self.key = key
            placement = (owners, routing)
        }

        /// A plan for a store that needs nothing but the version (tests' in-memory stores).
        public init(version: ObjectVersion, bucket: BucketID, key: String) {
            self.version = version; self.bucket = bucket; self.key = key
            placement = nil
        }
    }

    /// Plans a read: fails (503) unless every body of the version (one, or
    /// one per part) has at least k written shards on reachable nodes.
    public func planRead(_ version: ObjectVersion, bucket: BucketID, key: String) async throws(ObjectError) -> ReadPlan {
        let routing = await node.routing()
        var owners: [[NodeID]] = []
        for body in version.bodies {
            let bodyOwners = try routing.owners(of: body, bucket: bucket, key: key)
            let available = body.storedSlots.filter { $0 < bodyOwners.count && routing.reachable(bodyOwners[$0]) }.count
            guard available >= body.dataShards else {
                throw .unavailable("\(available) shards reachable, \(body.dataShards) needed")
            }
            owners.append(bodyOwners)
        }
        return ReadPlan(version: version, bucket: bucket, key: key, owners: owners, routing: routing)
    }

    /// Streams bytes `range` of `version` to `emit`, block by block, body
    /// after body (a multipart object's parts). Reads k shards — the data
    /// shards, or a local parity in place of one (`StripeReader.readData`);
    /// a shard that is missing, unreachable or corrupt is replaced by a
    /// parity shard from that block on and the data rebuilt in the same
    /// request. Only the blocks the range touches are fetched.
    public func read(_ plan: ReadPlan, range: Range<UInt64>, emit: (ByteBuffer) async throws -> Void) async throws(ObjectError) {
        let (version, bucket, key) = (plan.version, plan.bucket, plan.key)
        guard !range.isEmpty, range.upperBound <= version.size else { return }
        if version.isInline {
            guard let bytes = version.inlineData, bytes.count == Int(version.size) else {
                throw .internalError("the row of \(key) lacks its inline bytes")
            }
            let slice = bytes[bytes.startIndex + Int(range.lowerBound)..<bytes.startIndex + Int(range.upperBound)]
            do { try await emit(ByteBuffer(bytes: slice)) } catch { throw .internalError("client went away: \(error)") }
            return
        }
        // A producer task fetches and decodes block b + 1 while the answer
        // writes block b; the rendezvous channel holds at most one block.
        let channel = AsyncThrowingChannel<ByteBuffer, any Error>()
        let producer = Task {
            do throws(ObjectError) {
                guard let placement = plan.placement else { throw ObjectError.internalError("a read plan without shard owners") }
                var bodyStart: UInt64 = 0
                for (index, body) in version.bodies.enumerated() {
                    defer { bodyStart += body.size }
                    let bodyEnd = bodyStart + body.size
                    guard range.lowerBound < bodyEnd, range.upperBound > bodyStart, !Task.isCancelled else { continue }
                    let within = (max(range.lowerBound, bodyStart) - bodyStart)..<(min(range.upperBound, bodyEnd) - bodyStart)
                    try await stream(body, range: within, owners: placement.owners[index], routing: placement.routing,
                                     bucket: bucket, key: key, s3VersionID: version.s3VersionID, into: channel)
                }
                channel.finish()
            } catch {
                channel.fail(error)
            }
        }
        defer { producer.cancel() }
        do {
            for try await buffer in channel {
                do { try await emit(buffer) } catch { throw ObjectError.internalError("client went away: \(error)") }
            }
        } catch let error as ObjectError {
            throw error
        } catch {
            throw .internalError("\(error)")
        }
    }

    /// Sends bytes `range` of one body to `channel`, a block at a time.
    private func stream(_ body: StoredBody, range: Range<UInt64>, owners: [NodeID], routing: ClusterNode.Routing,
                        bucket: BucketID, key: String, s3VersionID: String?,
                        into channel: AsyncThrowingChannel<ByteBuffer, any Error>) async throws(ObjectError) {
        let blockSize = UInt64(body.blockSizeBytes)
        let firstBlock = Int(range.lowerBound / blockSize)
        let lastBlock = Int((range.upperBound - 1) / blockSize)
        let reader = try access.stripeReader(body, owners: owners, routing: routing, blocks: firstBlock...lastBlock)
        defer {
            for slot in reader.damaged {
                repairs.enqueue(RepairQueue.Item(bucket: bucket, key: key, versionID: body.versionID, slot: slot, s3VersionID: s3VersionID))
            }
        }
        for block in firstBlock...lastBlock {
            guard !Task.isCancelled else { return }
            let blockStart = UInt64(block) * blockSize
            let from = Int(max(range.lowerBound, blockStart) - blockStart)
            let to = Int(min(range.upperBound, blockStart + blockSize) - blockStart)
            if firstBlock == lastBlock {
                // A range inside one block reads only the data shards it lies in.
                let stripe = try await reader.read(block: block, bytes: from..<to)
                await channel.send(Self.slice(of: stripe, from: from, to: to))
                continue
            }
            let data = try await reader.readData(block: block)
            for piece in Self.pieces(of: data.chunks, from: from, to: to) { await channel.send(piece) }
        }
    }

    /// Bytes [from, to) of a block given as its k data chunks in order (all
    /// of one length), as slices of those chunks: no byte is copied.
    static func pieces(of chunks: [ByteBuffer], from: Int, to: Int) -> [ByteBuffer] {
        guard let shardLength = chunks.first?.readableBytes, shardLength > 0 else { return [] }
        var pieces: [ByteBuffer] = []
        var position = from
        while position < to {
            let chunk = chunks[position / shardLength]
            let offset = position % shardLength
            let n = min(shardLength - offset, to - position)
            pieces.append(chunk.getSlice(at: chunk.readerIndex + offset, length: n)!)
            position += n
        }
        return pieces
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
