import Foundation

/// What a replica needs of a row to merge and index it: its table, key,
/// stamp and kind. Decoded from a row's JSON without building the version,
/// upload, part or marker inside (building them, with an inline object's
/// base64, was 16–20% of a metadata replica's CPU in a six-node small PUT);
/// a row written by a newer Shale is still refused, as by `ObjectRecord`.
public struct ObjectRowHead: Decodable, Sendable, Equatable {
    public let bucketID: String
    public let key: String
    public let stamp: Stamp
    public let format: Int
    /// Neither a version, an upload, a part nor a delete marker.
    public let isTombstone: Bool
    /// A listing's copy of an inline object, without its bytes: never stored.
    public let inlineOmitted: Bool

    public init(of record: ObjectRecord) {
        bucketID = record.bucketID; key = record.key; stamp = record.stamp; format = record.format
        isTombstone = record.isTombstone
        inlineOmitted = record.version?.inlineOmitted == true
    }

    init(bucketID: String, key: String, stamp: Stamp, format: Int, isTombstone: Bool, inlineOmitted: Bool) {
        self.bucketID = bucketID; self.key = key; self.stamp = stamp; self.format = format
        self.isTombstone = isTombstone; self.inlineOmitted = inlineOmitted
    }

    private enum VersionKeys: String, CodingKey { case inlineOmitted }

    public init(from decoder: any Decoder) throws {
        typealias Keys = ObjectRecord.CodingKeys
        let container = try decoder.container(keyedBy: Keys.self)
        format = try ObjectRecord.readableFormat(in: container)
        bucketID = try container.decode(String.self, forKey: .bucketID)
        key = try container.decode(String.self, forKey: .key)
        stamp = try container.decode(Stamp.self, forKey: .stamp)
        func present(_ key: Keys) throws -> Bool { try container.contains(key) && !container.decodeNil(forKey: key) }
        let hasVersion = try present(.version)
        isTombstone = try !hasVersion && !present(.upload) && !present(.part) && !present(.marker)
        inlineOmitted = try hasVersion
            && container.nestedContainer(keyedBy: VersionKeys.self, forKey: .version).decodeIfPresent(Bool.self, forKey: .inlineOmitted) == true
    }
}
