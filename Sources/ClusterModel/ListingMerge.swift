/// Merging the pages that several replicas return for one listing request.
/// Pure: the replicas' I/O happens elsewhere.
public enum ListingMerge {
    /// S3 orders keys by their UTF-8 bytes, not by Unicode collation.
    public static func precedes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    /// Each page holds a replica's rows in key order, at most `limit`. The
    /// merge keeps the newest row per key and only keys up to the smallest
    /// last key of any full page: past it, that replica may hold rows it
    /// did not send. `exhausted`: no replica has rows past the result.
    public static func merge(_ pages: [[ObjectRecord]], limit: Int) -> (records: [ObjectRecord], exhausted: Bool) {
        var bound: String?
        for page in pages where page.count >= limit && limit > 0 {
            guard let last = page.last?.key else { continue }
            if bound == nil || precedes(last, bound!) { bound = last }
        }
        var newest: [String: ObjectRecord] = [:]
        for page in pages {
            for record in page {
                if let bound, precedes(bound, record.key) { continue }
                newest[record.key] = ObjectRecord.newest(newest[record.key], record)
            }
        }
        let records = newest.values.sorted { precedes($0.key, $1.key) }
        return (records, bound == nil)
    }
}

extension ListingMerge {
    /// The common prefix a key rolls up into under `delimiter`: the key up
    /// to and including the first delimiter after `prefix`, or nil.
    public static func commonPrefix(of key: String, prefix: String, delimiter: String?) -> String? {
        guard let delimiter, !delimiter.isEmpty else { return nil }
        let keyBytes = Array(key.utf8)
        let start = prefix.utf8.count
        let d = Array(delimiter.utf8)
        guard keyBytes.count >= start + d.count else { return nil }
        var i = start
        while i + d.count <= keyBytes.count {
            if keyBytes[i..<(i + d.count)].elementsEqual(d) {
                return String(decoding: keyBytes[0..<(i + d.count)], as: UTF8.self)
            }
            i += 1
        }
        return nil
    }

    /// A cursor just past every key that starts with `prefix`: U+10FFFF is
    /// the largest scalar, so only keys continuing with it sort after.
    public static func skipPast(_ prefix: String) -> String { prefix + "\u{10FFFF}" }
}
