import ClusterModel
import Foundation
import Storage
import Units

/// This node's side of the object-table calls: answers other nodes' merges,
/// reads, listings and digests from the local replica. Needs only the store.
struct MetadataReplica: Sendable {
    let store: MetadataStore

    /// The answer to one of the object-table methods, or nil for another method.
    func answer(_ method: RPCMethod, body: Data) async throws(NodeError) -> Data? {
        switch method {
        case .metadataMerge:
            if let rows = MetadataMergeMessage.reportedRows(in: body) { return try await mergeAsReceived(rows) }
            return try await answerJSON(body, as: MetadataMergeMessage.self) { message in
                for revert in message.reverts ?? [] {
                    _ = try await store.revert(bucket: revert.table, key: revert.key, stamp: revert.stamp, to: revert.previous)
                }
                guard message.report == true else {
                    try await store.merge(message.records)
                    return MetadataMergeReply(outcomes: nil)
                }
                return MetadataMergeReply(outcomes: try await store.mergeReporting(message.records))
            }
        case .metadataGet:
            // Rows go out as stored: a read decodes them once, at the caller.
            let message: MetadataGetMessage
            do { message = try JSONDecoder().decode(MetadataGetMessage.self, from: body) } catch {
                throw .invalidRequest("malformed call: \(error)")
            }
            let batch = message.keys.flatMap { $0.count <= 1000 ? $0 : nil }
            let keys = batch?.map { ($0.bucketID, $0.key) } ?? [(message.bucketID, message.key)]
            if message.stampsOnly == true {
                let stamps: [Stamp?]
                do { stamps = try await store.stamps(keys) } catch { throw .disk(error) }
                return try encodeReply(MetadataGetReply(record: nil, stamps: stamps))
            }
            do { return MetadataGetReply.encoded(rows: try await store.rows(keys), batch: batch != nil) } catch { throw .disk(error) }
        case .metadataList:
            return try await answerJSON(body, as: MetadataListMessage.self) { message in
                let limit = min(max(message.limit, 1), 1000)
                return MetadataListReply(records: try await store.list(bucket: message.bucketID, prefix: message.prefix,
                                                                       after: message.after, limit: limit,
                                                                       inlineBytes: message.inlineBytes ?? false,
                                                                       liveOnly: message.liveOnly ?? false))
            }
        case .metadataDigest:
            return try await answerJSON(body, as: MetadataDigestMessage.self) { message in
                MetadataDigestReply(digest: Hex.encode(try await store.digest(bucket: message.bucketID)))
            }
        case .metadataPrepare:
            return try await answerJSON(body, as: MetadataPrepareMessage.self) { message in
                let (promised, record) = try await store.prepare(bucket: message.bucketID, key: message.key, ballot: message.ballot)
                return MetadataPrepareReply(promised: promised, record: record)
            }
        case .metadataAccept:
            return try await answerJSON(body, as: MetadataAcceptMessage.self) { message in
                MetadataAcceptReply(accepted: try await store.accept(message.record, ballot: message.ballot))
            }
        case .ping, .sync, .shardDelete, .shardCheck, .shardStat, .scrubStart, .scrubStatus, .shardPut, .shardGet, .shardRead:
            return nil
        }
    }
}

extension MetadataReplica {
    /// A reporting merge of rows as the writer encoded them: each row's head
    /// decoded (its key and stamp decide the merge; a newer format is
    /// refused) and the row stored as received.
    func mergeAsReceived(_ rows: [Data]) async throws(NodeError) -> Data {
        let records: [(head: ObjectRowHead, json: Data)]
        do {
            records = try rows.map { (try ObjectRowHead.decodeRow($0), $0) }
        } catch {
            throw .invalidRequest("malformed call: \(error)")
        }
        do { return MetadataMergeReply.encoded(outcomes: try await store.mergeReportingRows(encoded: records)) } catch { throw .disk(error) }
    }
}

/// Decodes a peer's JSON call, runs it, encodes the answer; storage and
/// decoding failures become typed node errors.
func answerJSON<Message: Decodable, Reply: Encodable>(_ body: Data, as _: Message.Type,
                                                      _ run: (Message) async throws -> Reply) async throws(NodeError) -> Data {
    do {
        let message = try JSONDecoder().decode(Message.self, from: body)
        return try JSONEncoder.rows().encode(try await run(message))
    } catch let error as NodeError {
        throw error
    } catch let error as StorageError {
        throw .disk(error)
    } catch {
        throw .invalidRequest("malformed call: \(error)")
    }
}

/// `{}`: the answer of a call that returns nothing.
struct EmptyReply: Codable, Sendable {}

/// A call's answer as JSON.
func encodeReply<Reply: Encodable>(_ reply: Reply) throws(NodeError) -> Data {
    do { return try JSONEncoder.rows().encode(reply) } catch { throw .invalidRequest("cannot encode the answer: \(error)") }
}
