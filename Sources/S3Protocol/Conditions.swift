/// Conditional reads (RFC 7232) on GetObject and HeadObject: If-Match,
/// If-Unmodified-Since, If-None-Match, If-Modified-Since, evaluated in the
/// RFC's order against the object's ETag and Last-Modified. Pure.
public struct ReadConditions: Sendable, Equatable {
    public var ifMatch: String?
    public var ifNoneMatch: String?
    /// Unix seconds; a header whose date does not parse is ignored, as RFC 7232 says.
    public var ifModifiedSince: Int64?
    public var ifUnmodifiedSince: Int64?

    public enum Outcome: Sendable, Equatable {
        case proceed
        /// 304: the client's copy is current.
        case notModified
        /// 412: a precondition the client set does not hold.
        case preconditionFailed(header: String)
    }

    public init(ifMatch: String? = nil, ifNoneMatch: String? = nil, ifModifiedSince: Int64? = nil, ifUnmodifiedSince: Int64? = nil) {
        self.ifMatch = ifMatch; self.ifNoneMatch = ifNoneMatch
        self.ifModifiedSince = ifModifiedSince; self.ifUnmodifiedSince = ifUnmodifiedSince
    }

    /// Reads the four headers (names lowercase).
    public init(headers: [(name: String, value: String)]) {
        func value(_ name: String) -> String? {
            let values = headers.filter { $0.name == name }.map(\.value)
            return values.isEmpty ? nil : values.joined(separator: ",")
        }
        self.init(ifMatch: value("if-match"), ifNoneMatch: value("if-none-match"),
                  ifModifiedSince: value("if-modified-since").flatMap(HTTPDate.parse),
                  ifUnmodifiedSince: value("if-unmodified-since").flatMap(HTTPDate.parse))
    }

    public var isEmpty: Bool { ifMatch == nil && ifNoneMatch == nil && ifModifiedSince == nil && ifUnmodifiedSince == nil }

    /// `etag` without quotes; `lastModifiedSeconds` as Last-Modified shows it (whole seconds).
    public func evaluate(etag: String, lastModifiedSeconds: Int64) -> Outcome {
        if let ifMatch {
            if !Self.list(ifMatch, matches: etag) { return .preconditionFailed(header: "If-Match") }
        } else if let ifUnmodifiedSince, lastModifiedSeconds > ifUnmodifiedSince {
            return .preconditionFailed(header: "If-Unmodified-Since")
        }
        if let ifNoneMatch {
            if Self.list(ifNoneMatch, matches: etag) { return .notModified }
        } else if let ifModifiedSince, lastModifiedSeconds <= ifModifiedSince {
            return .notModified
        }
        return .proceed
    }

    /// `*` or a comma-separated list of entity tags, quoted or not, weak or not
    /// (S3 compares the opaque tag).
    static func list(_ header: String, matches etag: String) -> Bool {
        header.split(separator: ",").contains { item in
            let tag = String(item).trimmed
            return tag == "*" || ETag.opaque(tag) == etag
        }
    }
}

/// Entity tags as clients send them back.
public enum ETag {
    /// The opaque tag of `W/"abc"`, `"abc"` or `abc`: what S3 compares.
    public static func opaque(_ text: String) -> String {
        var tag = Substring(text.trimmed)
        if tag.hasPrefix("W/") { tag = tag.dropFirst(2) }
        if tag.hasPrefix("\""), tag.hasSuffix("\""), tag.count >= 2 { tag = tag.dropFirst().dropLast() }
        return String(tag)
    }
}

/// HTTP dates (RFC 7231 §7.1.1.1): IMF-fixdate, the obsolete RFC 850 form
/// and asctime, all read as UTC; also the ISO 8601 basic form SigV4 uses.
public enum HTTPDate {
    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// Unix seconds, or nil when `text` is no HTTP date.
    public static func parse(_ text: String) -> Int64? {
        let trimmed = text.trimmed
        if let seconds = SigV4.parseAmzDate(trimmed) { return seconds }
        let words = trimmed.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT → [Sun, 06, Nov, 1994, 08:49:37, GMT]
        if words.count == 6, words[5] == "GMT", let day = Int(words[1]), let year = Int(words[3]), words[3].count == 4 {
            return civil(year: year, month: words[2], day: day, time: words[4])
        }
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT → [Sunday, 06-Nov-94, 08:49:37, GMT]
        if words.count == 4, words[3] == "GMT" {
            let parts = words[1].split(separator: "-").map(String.init)
            guard parts.count == 3, let day = Int(parts[0]), let yy = Int(parts[2]), parts[2].count == 2 else { return nil }
            return civil(year: yy < 70 ? 2000 + yy : 1900 + yy, month: parts[1], day: day, time: words[2])
        }
        // asctime: Sun Nov  6 08:49:37 1994 → [Sun, Nov, 6, 08:49:37, 1994]
        if words.count == 5, let day = Int(words[2]), let year = Int(words[4]) {
            return civil(year: year, month: words[1], day: day, time: words[3])
        }
        return nil
    }

    static func civil(year: Int, month: String, day: Int, time: String) -> Int64? {
        guard let monthIndex = months.firstIndex(of: month.lowercased()) else { return nil }
        let hms = time.split(separator: ":").map { Int($0) }
        guard hms.count == 3, let h = hms[0], let mi = hms[1], let s = hms[2], h < 24, mi < 60, s < 61, (1...31).contains(day),
              (0...9999).contains(year) else { return nil }
        let amz = pad(year, 4) + pad(monthIndex + 1, 2) + pad(day, 2) + "T" + pad(h, 2) + pad(mi, 2) + pad(s, 2) + "Z"
        return SigV4.parseAmzDate(amz)
    }

    static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
