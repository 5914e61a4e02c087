import Units

/// PutBucketLifecycleConfiguration's document, checked as AWS checks it,
/// and GetBucketLifecycleConfiguration's answer. Transitions (storage
/// classes) are not offered and refused. Pure.
public enum LifecycleXML {
    public struct Rule: Sendable, Equatable {
        public var id: String
        public var enabled: Bool
        public var prefix = ""
        public var tags: [Tagging.Tag] = []
        public var sizeGreaterThan: UInt64?
        public var sizeLessThan: UInt64?
        public var expirationDays: Int?
        /// Unix seconds of a midnight UTC.
        public var expirationDate: Int64?
        public var expiredObjectDeleteMarker: Bool?
        public var noncurrentDays: Int?
        public var newerNoncurrentVersions: Int?
        public var abortIncompleteDays: Int?

        public init(id: String, enabled: Bool) { self.id = id; self.enabled = enabled }
    }

    public static let maxRules = 1000
    public static let maxBodyBytes = 256 * 1024

    static let malformed = S3Error(.malformedXML, "The XML you provided was not well-formed or did not validate against our published schema.")

    public static func parse(_ body: String) throws(S3Error) -> [Rule] {
        let root: XMLElement
        do { root = try XMLReader.parse(body) } catch { throw malformed }
        guard root.localName == "LifecycleConfiguration" else { throw malformed }
        var rules: [Rule] = []
        var ids: Set<String> = []
        for element in root.children {
            guard element.localName == "Rule" else { throw malformed }
            let rule = try parseRule(element)
            guard ids.insert(rule.id).inserted else { throw S3Error(.invalidArgument, "Rule ID must be unique. Found same ID for more than one rule: \(rule.id)") }
            rules.append(rule)
        }
        guard !rules.isEmpty else { throw malformed }
        guard rules.count <= maxRules else { throw S3Error(.invalidRequest, "A lifecycle configuration can have at most \(maxRules) rules.") }
        return rules
    }

    static func positive(_ element: XMLElement?, _ what: String) throws(S3Error) -> Int? {
        guard let element else { return nil }
        guard let value = Int(element.text.trimmed), value > 0 else {
            throw S3Error(.invalidArgument, "'\(what)' must be a positive integer.")
        }
        return value
    }

    static func parseRule(_ element: XMLElement) throws(S3Error) -> Rule {
        for child in element.children where ["Transition", "NoncurrentVersionTransition"].contains(child.localName) {
            throw S3Error(.notImplemented, "Lifecycle \(child.localName) (storage-class tiers) is not implemented: Shale has one storage class.")
        }
        let id = element.first("ID")?.text ?? Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255) })
        guard id.count <= 255 else { throw S3Error(.invalidArgument, "ID length should not exceed allowed limit of 255") }
        let status = element.first("Status")?.text.trimmed
        guard status == "Enabled" || status == "Disabled" else { throw malformed }
        var rule = Rule(id: id, enabled: status == "Enabled")
        let legacyPrefix = element.first("Prefix")
        if let filter = element.first("Filter") {
            guard legacyPrefix == nil else { throw malformed }
            let holder = filter.first("And") ?? filter
            guard filter.children.count <= 1 else { throw malformed }
            rule.prefix = holder.first("Prefix")?.text ?? ""
            rule.tags = holder.all("Tag").map { Tagging.Tag(key: $0.first("Key")?.text ?? "", value: $0.first("Value")?.text ?? "") }
            try Tagging.validate(rule.tags, for: .object)
            rule.sizeGreaterThan = holder.first("ObjectSizeGreaterThan").flatMap { UInt64($0.text.trimmed) }
            rule.sizeLessThan = holder.first("ObjectSizeLessThan").flatMap { UInt64($0.text.trimmed) }
        } else {
            rule.prefix = legacyPrefix?.text ?? ""
        }
        if let expiration = element.first("Expiration") {
            rule.expirationDays = try positive(expiration.first("Days"), "Days")
            if let date = expiration.first("Date") {
                guard let seconds = S3Dates.parseISO8601(date.text.trimmed) else { throw malformed }
                guard seconds % 86_400 == 0 else { throw S3Error(.invalidArgument, "'Date' must be at midnight GMT") }
                rule.expirationDate = seconds
            }
            if let marker = expiration.first("ExpiredObjectDeleteMarker") { rule.expiredObjectDeleteMarker = marker.text.trimmed == "true" }
            let given = [rule.expirationDays != nil, rule.expirationDate != nil, rule.expiredObjectDeleteMarker != nil].filter { $0 }.count
            guard given == 1 else { throw malformed }
            if rule.expiredObjectDeleteMarker != nil && !rule.tags.isEmpty {
                throw S3Error(.invalidRequest, "ExpiredObjectDeleteMarker cannot be specified with tags.")
            }
        }
        if let noncurrent = element.first("NoncurrentVersionExpiration") {
            rule.noncurrentDays = try positive(noncurrent.first("NoncurrentDays"), "NoncurrentDays")
            rule.newerNoncurrentVersions = try positive(noncurrent.first("NewerNoncurrentVersions"), "NewerNoncurrentVersions")
            guard rule.noncurrentDays != nil else { throw malformed }
        }
        if let abort = element.first("AbortIncompleteMultipartUpload") {
            rule.abortIncompleteDays = try positive(abort.first("DaysAfterInitiation"), "DaysAfterInitiation")
            guard rule.abortIncompleteDays != nil else { throw malformed }
            guard rule.tags.isEmpty && rule.sizeGreaterThan == nil && rule.sizeLessThan == nil else {
                throw S3Error(.invalidRequest, "AbortIncompleteMultipartUpload cannot be specified with Tags or object sizes.")
            }
        }
        guard rule.expirationDays != nil || rule.expirationDate != nil || rule.expiredObjectDeleteMarker != nil
                || rule.noncurrentDays != nil || rule.abortIncompleteDays != nil else {
            throw S3Error(.invalidRequest, "At least one action needs to be specified in a rule")
        }
        return rule
    }

    /// GetBucketLifecycleConfiguration's answer.
    public static func render(_ rules: [Rule]) -> String {
        var out = S3XML.declaration + "<LifecycleConfiguration xmlns=\"\(S3XML.namespace)\">"
        for rule in rules {
            out += "<Rule>" + S3XML.element("ID", rule.id)
            var conditions: [String] = rule.prefix.isEmpty ? [] : [S3XML.element("Prefix", rule.prefix)]
            conditions += rule.tags.map { "<Tag>" + S3XML.element("Key", $0.key) + S3XML.element("Value", $0.value) + "</Tag>" }
            if let size = rule.sizeGreaterThan { conditions.append(S3XML.element("ObjectSizeGreaterThan", String(size))) }
            if let size = rule.sizeLessThan { conditions.append(S3XML.element("ObjectSizeLessThan", String(size))) }
            let filter = conditions.count > 1 ? "<And>" + conditions.joined() + "</And>" : conditions.joined()
            out += "<Filter>" + filter + "</Filter>" + S3XML.element("Status", rule.enabled ? "Enabled" : "Disabled")
            if let days = rule.expirationDays { out += "<Expiration>" + S3XML.element("Days", String(days)) + "</Expiration>" }
            if let date = rule.expirationDate { out += "<Expiration>" + S3XML.element("Date", S3Dates.iso8601(UInt64(date) * 1000)) + "</Expiration>" }
            if let marker = rule.expiredObjectDeleteMarker {
                out += "<Expiration>" + S3XML.element("ExpiredObjectDeleteMarker", marker ? "true" : "false") + "</Expiration>"
            }
            if let days = rule.noncurrentDays {
                out += "<NoncurrentVersionExpiration>" + S3XML.element("NoncurrentDays", String(days))
                if let newer = rule.newerNoncurrentVersions { out += S3XML.element("NewerNoncurrentVersions", String(newer)) }
                out += "</NoncurrentVersionExpiration>"
            }
            if let days = rule.abortIncompleteDays {
                out += "<AbortIncompleteMultipartUpload>" + S3XML.element("DaysAfterInitiation", String(days)) + "</AbortIncompleteMultipartUpload>"
            }
            out += "</Rule>"
        }
        return out + "</LifecycleConfiguration>"
    }

    /// `x-amz-expiration`: when the object expires, by which rule.
    public static func expirationHeader(dueMillis: UInt64, ruleID: String) -> String {
        "expiry-date=\"\(S3Dates.rfc1123(dueMillis))\", rule-id=\"\(ruleID)\""
    }
}
