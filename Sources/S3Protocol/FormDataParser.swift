/// An incremental `multipart/form-data` parser for browser POST uploads:
/// the form's fields are collected (bounded), the file's bytes are handed
/// on as they arrive, never held whole. Pure: the caller feeds bytes.
///
/// S3 takes the file as the last field; a field after it would be ignored
/// by AWS, so here it is an error (nothing is stored).
public struct FormDataParser {
    public struct Part: Sendable, Equatable {
        public let name: String
        public let filename: String?
        public let contentType: String?

        public init(name: String, filename: String?, contentType: String?) {
            self.name = name; self.filename = filename; self.contentType = contentType
        }
    }

    public enum Event: Sendable, Equatable {
        case field(name: String, value: String)
        /// The file part starts: its bytes follow as `.fileData`.
        case fileStart(Part)
        case fileData([UInt8])
        case fileEnd
        /// The closing delimiter: the form is complete.
        case end
    }

    public enum Failure: Error, Equatable, Sendable {
        case malformed(String)
        case fieldTooLarge(String)
        case fieldAfterFile(String)
    }

    /// The most bytes of form fields before the file (AWS allows 20 KB of fields).
    public static let maxFieldBytes = 64 * 1024

    private indirect enum State {
        case preamble, headers, field(name: String), file, afterFile, done
        /// After a delimiter, before the two bytes that say whether the form ends.
        case waitingAfterDelimiter(next: State)
    }

    private let delimiter: [UInt8]          // "\r\n--" + boundary
    private var state = State.preamble
    private var pending: [UInt8] = []
    private var fieldBytes = 0
    /// Bytes of the body taken off `pending` so far (2 more: the CRLF put before the body).
    private var consumed = 0
    public private(set) var sawFile = false
    /// Where in the body the file's first byte is, once its part has started.
    public private(set) var fileOffset: Int?

    /// The bytes after the file's last one in a form that ends as browsers,
    /// curl and Python's requests end it: CRLF, the closing delimiter, CRLF.
    public var closingLength: Int { delimiter.count + 4 }

    /// `contentType`: the request's Content-Type, which names the boundary.
    public init(contentType: String) throws(Failure) {
        guard contentType.lowercased().hasPrefix("multipart/form-data") else { throw .malformed("the body is not multipart/form-data") }
        var boundary: String?
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { String($0).trimmed }
            if pair.count == 2, pair[0].lowercased() == "boundary" {
                boundary = pair[1].hasPrefix("\"") && pair[1].hasSuffix("\"") && pair[1].count >= 2 ? String(pair[1].dropFirst().dropLast()) : pair[1]
            }
        }
        guard let boundary, (1...70).contains(boundary.utf8.count) else { throw .malformed("the Content-Type names no boundary") }
        delimiter = Array("\r\n--\(boundary)".utf8)
        // The first delimiter may open the body without the CRLF before it.
        pending = Array("\r\n".utf8)
    }

    /// Feeds the next bytes of the body; returns what they complete.
    public mutating func feed(_ bytes: some Collection<UInt8>) throws(Failure) -> [Event] {
        pending.append(contentsOf: bytes)
        var events: [Event] = []
        while try step(&events) {}
        return events
    }

    /// The body ended: anything but a finished form is an error.
    public func finish() throws(Failure) {
        guard case .done = state else { throw .malformed("the form ends before its closing boundary") }
    }

    /// One move of the state machine; false when it needs more bytes.
    private mutating func step(_ events: inout [Event]) throws(Failure) -> Bool {
        switch state {
        case .preamble:
            guard let found = find(delimiter) else {
                // Keep only what could still begin the delimiter.
                if pending.count > delimiter.count { drop(pending.count - delimiter.count) }
                return false
            }
            drop(found + delimiter.count)
            return try afterDelimiter(&events, next: .headers)
        case .headers:
            guard let end = find(Array("\r\n\r\n".utf8)) else {
                guard pending.count <= 8 * 1024 else { throw .malformed("a part's headers are too long") }
                return false
            }
            let part = try Self.parseHeaders(Array(pending[..<end]))
            drop(end + 4)
            if part.filename != nil || part.name.lowercased() == "file" {
                guard part.name.lowercased() == "file" else { throw .malformed("the file part must be named \"file\"") }
                sawFile = true
                fileOffset = consumed - 2
                state = .file
                events.append(.fileStart(part))
            } else {
                state = .field(name: part.name)
            }
            return true
        case .field(let name):
            guard let found = find(delimiter) else {
                guard fieldBytes + pending.count <= Self.maxFieldBytes else { throw .fieldTooLarge(name) }
                return false
            }
            fieldBytes += found
            guard fieldBytes <= Self.maxFieldBytes else { throw .fieldTooLarge(name) }
            events.append(.field(name: name, value: String(decoding: pending[..<found], as: UTF8.self)))
            drop(found + delimiter.count)
            return try afterDelimiter(&events, next: .headers)
        case .file:
            guard let found = find(delimiter) else {
                // Hand on all but what could be the start of the delimiter.
                let safe = pending.count - (delimiter.count - 1)
                if safe > 0 {
                    events.append(.fileData(Array(pending[..<safe])))
                    drop(safe)
                }
                return false
            }
            if found > 0 { events.append(.fileData(Array(pending[..<found]))) }
            events.append(.fileEnd)
            drop(found + delimiter.count)
            return try afterDelimiter(&events, next: .afterFile)
        case .afterFile:
            guard let end = find(Array("\r\n\r\n".utf8)) else { return false }
            let part = try Self.parseHeaders(Array(pending[..<end]))
            throw .fieldAfterFile(part.name)
        case .waitingAfterDelimiter(let next):
            return try decideAfterDelimiter(&events, next: next)
        case .done:
            drop(pending.count)
            return false
        }
    }

    /// After a delimiter: `--` closes the form, CRLF opens the next part.
    private mutating func afterDelimiter(_ events: inout [Event], next: State) throws(Failure) -> Bool {
        state = .waitingAfterDelimiter(next: next)
        return try decideAfterDelimiter(&events, next: next)
    }

    private mutating func decideAfterDelimiter(_ events: inout [Event], next: State) throws(Failure) -> Bool {
        guard pending.count >= 2 else { return false }
        if pending[0] == UInt8(ascii: "-") && pending[1] == UInt8(ascii: "-") {
            state = .done
            events.append(.end)
            drop(pending.count)
            return false
        }
        // Transport padding (spaces, tabs) may precede the CRLF.
        var index = 0
        while index < pending.count, pending[index] == UInt8(ascii: " ") || pending[index] == UInt8(ascii: "\t") { index += 1 }
        guard index + 1 < pending.count else { return false }
        guard pending[index] == UInt8(ascii: "\r"), pending[index + 1] == UInt8(ascii: "\n") else { throw .malformed("a boundary is not followed by CRLF") }
        drop(index + 2)
        state = next
        return true
    }

    private mutating func drop(_ count: Int) {
        pending.removeFirst(count)
        consumed += count
    }

    private func find(_ pattern: [UInt8]) -> Int? {
        guard pending.count >= pattern.count, let first = pattern.first else { return nil }
        return pending.withUnsafeBufferPointer { bytes -> Int? in
            var index = 0
            let last = bytes.count - pattern.count
            while index <= last {
                guard let hit = (index...last).first(where: { bytes[$0] == first }) else { return nil }
                var matched = true
                for offset in 1..<pattern.count where bytes[hit + offset] != pattern[offset] {
                    matched = false
                    break
                }
                if matched { return hit }
                index = hit + 1
            }
            return nil
        }
    }

    static func parseHeaders(_ bytes: [UInt8]) throws(Failure) -> Part {
        var name: String?
        var filename: String?
        var contentType: String?
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { throw .malformed("a part header has no ':'") }
            let header = line[..<colon].lowercased()
            let value = String(line[line.index(after: colon)...]).trimmed
            if header == "content-disposition" {
                let parameters = Self.dispositionParameters(value)
                guard parameters.kind == "form-data" else { throw .malformed("a part is not form-data") }
                name = parameters.values["name"]
                filename = parameters.values["filename"]
            } else if header == "content-type" {
                contentType = value
            }
        }
        guard let name, !name.isEmpty else { throw .malformed("a part has no name") }
        return Part(name: name, filename: filename, contentType: contentType)
    }

    /// `form-data; name="key"; filename="a b.txt"` (quoted values may hold `;`).
    static func dispositionParameters(_ value: String) -> (kind: String, values: [String: String]) {
        var values: [String: String] = [:]
        var scalars = Substring(value)
        func take(until stop: Character) -> Substring {
            let end = scalars.firstIndex(of: stop) ?? scalars.endIndex
            defer { scalars = end < scalars.endIndex ? scalars[scalars.index(after: end)...] : "" }
            return scalars[..<end]
        }
        let kind = String(take(until: ";")).trimmed.lowercased()
        while !scalars.isEmpty {
            let key = String(take(until: "=")).trimmed.lowercased()
            scalars = Substring(String(scalars).trimmed)
            var parsed = ""
            if scalars.first == "\"" {
                scalars = scalars.dropFirst()
                var escaped = false
                while let c = scalars.first {
                    scalars = scalars.dropFirst()
                    if escaped { parsed.append(c); escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { break } else { parsed.append(c) }
                }
                _ = take(until: ";")
            } else {
                parsed = String(take(until: ";")).trimmed
            }
            if !key.isEmpty { values[key] = parsed }
        }
        return (kind, values)
    }
}
