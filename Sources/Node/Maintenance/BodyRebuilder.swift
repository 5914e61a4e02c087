import ClusterModel
import Erasure
import Foundation
import Logging
import Metrics
import Placement
import Storage
import Units

/// A body found by its row: the journal's work, a short write's.
struct BodyRef: Hashable, Sendable {
    /// The row's table: the bucket's object table, its version table, or its uploads table (a part).
    let table: String
    let rowKey: String
    /// The object key whose partition places the shards.
    let objectKey: String
    let bucket: BucketID
    let versionID: String
}

/// Makes one body whole where the current layout puts it: reads any k
/// intact shards stripe by stripe, decodes the lost ones, writes every slot
/// that is not home to its current owner (a temporary file there, fsynced
/// and renamed into place when whole), and only then commits the row —
/// the body's layout moved to the current one, its handoffs gone — by a
/// compare-and-set that fails if the row changed meanwhile. The copies left
/// on former holders are then strays, which the collector deletes after its
/// grace period; nothing old is deleted here.
struct BodyRebuilder: Sendable {
    enum Outcome: Equatable, Sendable {
        /// Shards written and the row committed.
        case rebuilt(bytes: UInt64)
        /// Nothing to do: the body is home, or no row names it any more.
        case alreadyWhole
        /// Fewer than k intact shards anywhere readable.
        case unrecoverable(surviving: Int)
    }

    let tables: any ObjectTables
    let access: ShardAccess
    let survey: ShardSurvey
    let budget: SharedRateBudget
    let ballot: @Sendable (Stamp?) -> Stamp

    /// One body of the rebuild journal.
    func rebuild(_ work: RebuildJournal.Work, routing: ClusterNode.Routing) async throws(ObjectError) -> Outcome {
        guard let bucket = BucketID(hex: work.bucketHex) else { throw .internalError("bad bucket id in the rebuild journal") }
        return try await rebuild(BodyRef(table: work.table, rowKey: work.rowKey, objectKey: work.objectKey, bucket: bucket, versionID: work.versionID),
                                 routing: routing)
    }

    func rebuild(_ ref: BodyRef, routing: ClusterNode.Routing) async throws(ObjectError) -> Outcome {
        let (table, rowKey, objectKey, bucket, versionID) = (ref.table, ref.rowKey, ref.objectKey, ref.bucket, ref.versionID)
        guard let record = try await tables.read(table: table, bucket: bucket, key: rowKey, routing: routing),
              let body = record.body(named: versionID),
              let placed = PlacedBody(table: table, rowKey: rowKey, objectKey: objectKey, bucket: bucket, body: body,
                                      routing: routing),
              let layout = routing.current else { return .alreadyWhole }
        // Planned again now: the row, the layout or the disks may have changed since the job's plan.
        guard let plan = await survey.plans([placed], routing: routing).first, plan.isNeeded else { return .alreadyWhole }
        guard plan.isRecoverable else { return .unrecoverable(surviving: plan.surviving) }
        // An owner this node cannot reach now is not written to: its shard may well be intact there.
        let away = plan.writes.filter { !routing.reachable(placed.owners[$0]) }
        guard away.isEmpty else {
            throw .unavailable("the owner of slot \(away[0]) (\(placed.owners[away[0]].shortForm)) is not reachable; retried later")
        }

        let reader = try access.stripeReader(body, owners: placed.holders, routing: routing, blocks: 0...(body.blockCount - 1),
                                             excluding: Set(plan.lost))
        let written = try await access.writeSlots(plan.writes, of: body, from: reader, to: placed.owners,
                                                  object: ObjectName(bucket: table, key: rowKey), routing: routing) { bytes in
            await budget.spend(bytes)
        }

        // Every shard is durable on its owner: now the row may say so. Unless the row
        // still holds this body where the plan found it, the new shards are strays.
        let holders = placed.holders
        let total = body.dataShards + body.parityShards
        do throws(ObjectError) {
            _ = try await tables.compareAndSet(table: table, bucket: bucket, key: rowKey, routing: routing, ballot: ballot,
                                               keepDecidedStamp: true) { current throws(ObjectError) in
                guard let current, var edited = current.editingBody(body.versionID, { found in
                    guard (try? routing.owners(of: found, bucket: bucket, key: objectKey)) == holders else { return nil }
                    var moved = found
                    moved.layoutVersion = layout.version
                    moved.handoffs = nil
                    moved.storedSlots = Array(0..<total)
                    return moved
                }) else { throw .preconditionFailed }
                edited.stamp = current.stamp.justAbove
                return edited
            }
        } catch {
            guard error == .preconditionFailed else { throw error }
            throw .unavailable("the row changed while its shards were rebuilt; planned again on the next pass")
        }
        Counter(label: "shale_rebuild_shards_written_total").increment(by: plan.writes.count)
        access.logger.debug("body rebuilt", metadata: ["version": "\(body.versionID)", "slots": "\(plan.writes)", "lost": "\(plan.lost)"])
        return .rebuilt(bytes: written)
    }
}

/// A rate shared by concurrent transfers (see `RateBudget`).
actor SharedRateBudget {
    private var budget: RateBudget

    init(bytesPerSecond: UInt64, clock: any WallClock) { budget = RateBudget(bytesPerSecond: bytesPerSecond, clock: clock) }

    func spend(_ bytes: UInt64) async {
        // The sleep happens outside the actor's turn so other transfers can account meanwhile.
        let delay = budget.account(bytes)
        if delay > 0 { try? await budget.clock.sleep(millis: delay) }
    }
}
