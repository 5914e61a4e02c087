/// A bucket's lifecycle rules as the cluster keeps them (PutBucketLifecycle-
/// Configuration's document, validated by the S3 layer) and what they say
/// of an object or an upload: when it is due. Pure; times are Unix millis.
public struct LifecycleRule: Codable, Sendable, Equatable {
    public var id: String
    public var enabled: Bool
    /// The filter: a key prefix, tags the object must all carry, and size bounds (exclusive).
    public var prefix: String
    public var tags: [ObjectTag]
    public var sizeGreaterThan: UInt64?
    public var sizeLessThan: UInt64?
    /// `Expiration`: days after the object's creation, or a date (midnight UTC).
    public var expirationDays: Int?
    public var expirationDateMillis: UInt64?
    public var expiredObjectDeleteMarker: Bool?
    /// `NoncurrentVersionExpiration` (acts on noncurrent versions, which exist once a bucket is versioned).
    public var noncurrentDays: Int?
    public var newerNoncurrentVersions: Int?
    /// `AbortIncompleteMultipartUpload`: days after the upload was initiated.
    public var abortIncompleteDays: Int?

    public init(id: String, enabled: Bool, prefix: String = "", tags: [ObjectTag] = []) {
        self.id = id; self.enabled = enabled; self.prefix = prefix; self.tags = tags
    }

    /// Whether the rule removes objects, versions or delete markers (every action but aborting uploads).
    public var expiresObjects: Bool {
        expirationDays != nil || expirationDateMillis != nil || expiredObjectDeleteMarker == true || noncurrentDays != nil
            || newerNoncurrentVersions != nil
    }
}

public enum Lifecycle {
    public static let dayMillis: UInt64 = 86_400_000

    /// AWS's rule: a day count is added to the creation time and the result
    /// rounded up to the next midnight UTC.
    public static func due(afterDays days: Int, from millis: UInt64) -> UInt64 {
        let plain = millis + UInt64(max(days, 0)) * dayMillis
        return (plain + dayMillis - 1) / dayMillis * dayMillis
    }

    /// Whether `rule` applies to an object (its key, size and tags).
    public static func matches(_ rule: LifecycleRule, key: String, size: UInt64, tags: [ObjectTag]?) -> Bool {
        guard rule.enabled, key.hasPrefix(rule.prefix) else { return false }
        if let bound = rule.sizeGreaterThan, size <= bound { return false }
        if let bound = rule.sizeLessThan, size >= bound { return false }
        let carried = Set(tags ?? [])
        return rule.tags.allSatisfy { carried.contains($0) }
    }

    /// When the earliest rule expires the current object `version` of `key`, and which rule.
    public static func expiry(of version: ObjectVersion, key: String, rules: [LifecycleRule]) -> (millis: UInt64, ruleID: String)? {
        var earliest: (millis: UInt64, ruleID: String)?
        for rule in rules where matches(rule, key: key, size: version.size, tags: version.tags) {
            var due: UInt64?
            if let days = rule.expirationDays { due = Self.due(afterDays: days, from: version.lastModifiedMillis) }
            if let date = rule.expirationDateMillis { due = min(due ?? date, date) }
            if let due, earliest.map({ due < $0.millis }) ?? true { earliest = (due, rule.id) }
        }
        return earliest
    }

    /// When an upload in progress is to be aborted (rules filter uploads by prefix only, as AWS).
    public static func abortDue(key: String, initiatedMillis: UInt64, rules: [LifecycleRule]) -> UInt64? {
        rules.compactMap { rule -> UInt64? in
            guard rule.enabled, key.hasPrefix(rule.prefix), let days = rule.abortIncompleteDays else { return nil }
            return due(afterDays: days, from: initiatedMillis)
        }.min()
    }
}

/// Lifecycle in a versioned bucket, for one key's entries (versions and
/// delete markers) seen newest first: the latest version expires into a
/// delete marker (Expiration), a noncurrent entry is removed for good some
/// days after it became noncurrent — when the next newer entry was written
/// — keeping the `NewerNoncurrentVersions` newest (NoncurrentVersionExpiration),
/// and a delete marker left alone as a key's only entry is removed
/// (ExpiredObjectDeleteMarker). Pure: the worker feeds it and acts.
public struct VersionedLifecycleWalk {
    public enum Action: Equatable, Sendable {
        case keep
        /// The key's latest version is due: a delete marker goes on top of it.
        case expireLatest(ruleID: String)
        /// A noncurrent version or delete marker is due: removed by its id.
        case removeNoncurrent
    }

    let rules: [LifecycleRule]
    let now: UInt64
    /// The key being walked.
    public private(set) var key: String?
    /// The newer entry's write time: when the next entry became noncurrent.
    private var newerWrittenMillis: UInt64?
    private var noncurrentSeen = 0
    private var entries = 0
    private var latestIsMarker = false

    public init(rules: [LifecycleRule], now: UInt64) { self.rules = rules; self.now = now }

    /// The action for the next entry; `version` nil for a delete marker.
    public mutating func next(key: String, isLatest: Bool, version: ObjectVersion?, lastModifiedMillis: UInt64) -> Action {
        if key != self.key || isLatest {
            self.key = key
            newerWrittenMillis = nil
            noncurrentSeen = 0
            entries = 0
        }
        defer {
            newerWrittenMillis = lastModifiedMillis
            entries += 1
        }
        if isLatest {
            latestIsMarker = version == nil
            guard let version, let due = Lifecycle.expiry(of: version, key: key, rules: rules), due.millis <= now else { return .keep }
            return .expireLatest(ruleID: due.ruleID)
        }
        // Resumed in the middle of a key: when this entry became noncurrent is unknown, so it stays.
        guard let becameNoncurrent = newerWrittenMillis else { return .keep }
        let newerNoncurrent = noncurrentSeen
        noncurrentSeen += 1
        for rule in rules where rule.noncurrentDays != nil || rule.newerNoncurrentVersions != nil {
            guard Lifecycle.matches(rule, key: key, size: version?.size ?? 0, tags: version?.tags) else { continue }
            if let keep = rule.newerNoncurrentVersions, newerNoncurrent < keep { continue }
            if let days = rule.noncurrentDays, Lifecycle.due(afterDays: days, from: becameNoncurrent) > now { continue }
            return .removeNoncurrent
        }
        return .keep
    }

    /// At the end of a key: whether its latest entry, a delete marker with
    /// no version under it, is to be removed.
    public func removesLoneMarker() -> Bool {
        guard let key, entries == 1, latestIsMarker else { return false }
        return rules.contains { $0.expiredObjectDeleteMarker == true && Lifecycle.matches($0, key: key, size: 0, tags: nil) }
    }
}
