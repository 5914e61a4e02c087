import Crypto
import Units

/// AWS Signature Version 4 for S3, header-based: parsing the Authorization
/// header, canonicalization, and verification. Pure: the clock and the
/// secret lookup are passed in; nothing here does I/O.
public enum SigV4 {
    public static let algorithm = "AWS4-HMAC-SHA256"
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    /// How far a request's x-amz-date may be from the server's clock.
    public static let clockSkewLimitSeconds: Int64 = 15 * 60

    /// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
    public struct Authorization: Equatable, Sendable {
        public let accessKey: String
        public let date: String
        public let region: String
        public let service: String
        public let signedHeaders: [String]
        public let signature: String

        public var scope: String { "\(date)/\(region)/\(service)/aws4_request" }

        public init(header: String) throws(SigV4Error) {
            // On UTF-8 bytes, with one array and no Character work: String's splitting,
            // counting and hex-digit properties were 3% of a small PUT.
            let bytes = Array(header.utf8)
            let prefix = Array((algorithm + " ").utf8)
            guard bytes.starts(with: prefix) else { throw .unsupportedAlgorithm }
            var credential: ArraySlice<UInt8>?, signed: ArraySlice<UInt8>?, signature: ArraySlice<UInt8>?
            for part in bytes[prefix.count...].split(separator: Self.comma) {
                let field = Self.trimmingSpaces(part)
                guard let eq = field.firstIndex(of: UInt8(ascii: "=")) else { throw .malformedAuthorization }
                let name = field[..<eq], value = field[(eq + 1)...]
                if name.elementsEqual("Credential".utf8) { credential = value }
                else if name.elementsEqual("SignedHeaders".utf8) { signed = value }
                else if name.elementsEqual("Signature".utf8) { signature = value }
            }
            guard let credential, let signed, let signature else { throw .malformedAuthorization }
            let scope = credential.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            guard scope.count == 5, scope[4].elementsEqual("aws4_request".utf8), !scope[0].isEmpty, scope[1].count == 8 else {
                throw .malformedCredential
            }
            accessKey = String(decoding: scope[0], as: UTF8.self)
            date = String(decoding: scope[1], as: UTF8.self)
            region = String(decoding: scope[2], as: UTF8.self)
            service = String(decoding: scope[3], as: UTF8.self)
            signedHeaders = signed.split(separator: UInt8(ascii: ";")).map { String(decoding: $0.map(Self.asciiLowercased), as: UTF8.self) }
            guard signature.count == 64, signature.allSatisfy(Hex.isDigit) else { throw .malformedAuthorization }
            self.signature = String(decoding: signature.map(Self.asciiLowercased), as: UTF8.self)
        }

        private static let comma = UInt8(ascii: ",")

        static func trimmingSpaces(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
            var field = bytes
            while field.first == UInt8(ascii: " ") { field = field.dropFirst() }
            while field.last == UInt8(ascii: " ") { field = field.dropLast() }
            return field
        }

        static func asciiLowercased(_ byte: UInt8) -> UInt8 {
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
        }
    }

    /// What of a request the signature covers.
    public struct Request: Sendable {
        public let method: String
        /// The path as sent on the request line (percent-encoded, without the query).
        public let rawPath: String
        /// The query string as sent, without '?'.
        public let rawQuery: String
        /// Header names lowercased (given in any case); repeated names allowed.
        /// Lowercased once here: a signature check looks headers up a dozen times.
        public let headers: [(name: String, value: String)]

        public init(method: String, rawPath: String, rawQuery: String, headers: [(name: String, value: String)]) {
            self.method = method; self.rawPath = rawPath; self.rawQuery = rawQuery
            self.headers = headers.map { (name: SigV4.lowercased($0.name), value: $0.value) }
        }

        public func header(_ name: String) -> String? {
            let lower = SigV4.lowercased(name)
            var found: String?
            for header in headers where header.name == lower { found = found.map { $0 + "," + header.value } ?? header.value }
            return found
        }
    }

    /// A header name in lower case; one already so (HTTP/2's, and what
    /// clients mostly send) is kept as is, without String's Unicode mapping.
    static func lowercased(_ name: String) -> String {
        name.utf8.contains(where: { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || $0 >= 0x80 }) ? name.lowercased() : name
    }

    public static func canonicalRequest(_ request: Request, signedHeaders: [String], payloadHash: String) -> String {
        String(decoding: canonicalRequestBytes(request, signedHeaders: signedHeaders, payloadHash: payloadHash), as: UTF8.self)
    }

    /// The canonical request as UTF-8 bytes, written into one buffer: built
    /// of joined Strings it was a third of a signature check, which is 5–10%
    /// of a small request's server CPU and more of the client's.
    static func canonicalRequestBytes(_ request: Request, signedHeaders: [String], payloadHash: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + request.rawPath.utf8.count + request.rawQuery.utf8.count)
        out.append(contentsOf: request.method.utf8)
        out.append(newline)
        appendCanonicalPath(request.rawPath, to: &out)
        out.append(newline)
        if !request.rawQuery.isEmpty { out.append(contentsOf: canonicalQuery(request.rawQuery).utf8) }
        out.append(newline)
        for name in signedHeaders {
            out.append(contentsOf: name.utf8)
            out.append(UInt8(ascii: ":"))
            appendCanonicalHeaderValue(request, name, to: &out)
            out.append(newline)
        }
        out.append(newline)
        for (index, name) in signedHeaders.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ";")) }
            out.append(contentsOf: name.utf8)
        }
        out.append(newline)
        out.append(contentsOf: payloadHash.utf8)
        return out
    }

    private static let newline = UInt8(ascii: "\n")

    static func stringToSignBytes(amzDate: String, scope: String, canonicalRequest: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(algorithm.utf8.count + amzDate.utf8.count + scope.utf8.count + 3 + 2 * SHA256.byteCount)
        out.append(contentsOf: algorithm.utf8)
        out.append(newline)
        out.append(contentsOf: amzDate.utf8)
        out.append(newline)
        out.append(contentsOf: scope.utf8)
        out.append(newline)
        SHA256.hash(data: canonicalRequest).withUnsafeBytes { Hex.append($0.assumingMemoryBound(to: UInt8.self), to: &out) }
        return out
    }

    /// The hex HMAC-SHA256 of `toSign` with a keyed HMAC (copied, so the key's state is reused).
    static func hexMAC(_ keyed: HMAC<SHA256>, _ toSign: [UInt8]) -> String {
        var mac = keyed
        mac.update(data: toSign)
        return mac.finalize().withUnsafeBytes { Hex.encode($0.assumingMemoryBound(to: UInt8.self)) }
    }

    /// The key a day's signatures in one scope are made with: four HMACs
    /// chained from the secret, the same for every request of that day, so
    /// derived once (`derivedKeys`) — they were 2.6% of a one-node small PUT.
    public static func signingKey(secret: String, date: String, region: String, service: String) -> SymmetricKey {
        derived(secret: secret, date: date, region: region, service: service).key
    }

    /// The signing key with an HMAC already keyed by it: keying one hashes a
    /// block and allocates its pads, which was a tenth of a signature.
    static func derived(secret: String, date: String, region: String, service: String) -> DerivedSigningKeys.Entry {
        let name = DerivedSigningKeys.Name(secret: secret, date: date, region: region, service: service)
        if let known = derivedKeys.entry(for: name) { return known }
        var key = SymmetricKey(data: Array(("AWS4" + secret).utf8))
        for part in [date, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let entry = DerivedSigningKeys.Entry(key: key, keyed: HMAC<SHA256>(key: key))
        derivedKeys.remember(entry, for: name)
        return entry
    }

    static let derivedKeys = DerivedSigningKeys(capacity: 1024)

    public static func signature(secret: String, authorization: Authorization, amzDate: String, canonicalRequest: String) -> String {
        signature(secret: secret, authorization: authorization, amzDate: amzDate, canonicalRequest: Array(canonicalRequest.utf8))
    }

    static func signature(secret: String, authorization: Authorization, amzDate: String, canonicalRequest: [UInt8]) -> String {
        let derived = derived(secret: secret, date: authorization.date, region: authorization.region, service: authorization.service)
        return hexMAC(derived.keyed, stringToSignBytes(amzDate: amzDate, scope: authorization.scope, canonicalRequest: canonicalRequest))
    }

    /// The access key id a request names (its Authorization header, else a
    /// presigned URL's X-Amz-Credential), read before anything is checked:
    /// what a failed signature is counted against.
    public static func presentedAccessKey(authorization: String?, query: [String: String]) -> String? {
        // On bytes: Foundation's range(of:) was 1.3% of a small PUT.
        let bytes = Array((authorization ?? "").utf8), marker = Array("Credential=".utf8)
        if let start = bytes.indices.first(where: { bytes[$0...].starts(with: marker) }) {
            return String(decoding: bytes[(start + marker.count)...].prefix { $0 != UInt8(ascii: "/") }, as: UTF8.self)
        }
        return query["X-Amz-Credential"]?.split(separator: "/", maxSplits: 1).first.map(String.init)
    }

    /// Checks a header-signed request. `secretFor` finds a key's secret;
    /// `region` (if set) is the only region accepted; `nowSeconds` is Unix time.
    /// Returns the authorization (access key, scope) and the declared payload
    /// hash, which the caller checks against the body as it streams.
    public static func verify(_ request: Request, secretFor: (String) -> String?, region: String?, nowSeconds: Int64)
        throws(SigV4Error) -> (Authorization, payloadHash: String)
    {
        guard let header = request.header("authorization") else { throw .missingAuthorization }
        let authorization = try Authorization(header: header)
        guard authorization.service == "s3" else { throw .malformedCredential }
        if let region, authorization.region != region { throw .wrongRegion(expected: region) }
        guard let amzDate = requestDate(request), let requestTime = parseAmzDate(amzDate) else { throw .missingDate }
        guard amzDate.hasPrefix(authorization.date) else { throw .malformedCredential }
        guard abs(requestTime - nowSeconds) <= clockSkewLimitSeconds else { throw .requestTimeTooSkewed }
        guard authorization.signedHeaders.contains("host") else { throw .malformedAuthorization }
        guard let payloadHash = request.header("x-amz-content-sha256") else { throw .missingContentHash }
        guard payloadHash == unsignedPayload || StreamingPayload(rawValue: payloadHash) != nil
                || (payloadHash.utf8.count == 64 && payloadHash.utf8.allSatisfy(Hex.isDigit)) else {
            throw .unsupportedPayload(payloadHash)
        }
        guard let secret = secretFor(authorization.accessKey) else { throw .unknownAccessKey }
        let canonical = canonicalRequestBytes(request, signedHeaders: authorization.signedHeaders, payloadHash: payloadHash)
        let expected = signature(secret: secret, authorization: authorization, amzDate: amzDate, canonicalRequest: canonical)
        guard constantTimeEqual(expected, authorization.signature) else { throw .signatureMismatch }
        return (authorization, StreamingPayload(rawValue: payloadHash) != nil ? payloadHash : payloadHash.lowercased())
    }

    /// What a signed `aws-chunked` body's chunk signatures chain from: the
    /// verified request's key, date, scope and signature.
    public static func chunkSigning(_ request: Request, authorization: Authorization, secret: String) -> ChunkSigning? {
        guard let amzDate = requestDate(request) else { return nil }
        let key = signingKey(secret: secret, date: authorization.date, region: authorization.region, service: authorization.service)
        return ChunkSigning(key: key, amzDate: amzDate, scope: authorization.scope, seedSignature: authorization.signature)
    }

    /// The longest a presigned URL may be valid (7 days, as AWS).
    public static let maxPresignedExpirySeconds: Int64 = 7 * 24 * 3600

    /// Checks a presigned request (SigV4 in the query string: `X-Amz-Algorithm`,
    /// `-Credential`, `-Date`, `-Expires`, `-SignedHeaders`, `-Signature`).
    /// The payload is `UNSIGNED-PAYLOAD`. `query` holds the decoded parameters.
    public static func verifyPresigned(_ request: Request, query: [String: String], secretFor: (String) -> String?, region: String?,
                                       nowSeconds: Int64) throws(SigV4Error) -> Authorization {
        guard query["X-Amz-Algorithm"] == algorithm else { throw .unsupportedAlgorithm }
        guard query["X-Amz-Security-Token"] == nil else { throw .unsupportedPayload("X-Amz-Security-Token (temporary credentials)") }
        guard let credential = query["X-Amz-Credential"], let signedHeaders = query["X-Amz-SignedHeaders"],
              let signature = query["X-Amz-Signature"], let amzDate = query["X-Amz-Date"], let expiresText = query["X-Amz-Expires"] else {
            throw .malformedAuthorization
        }
        let authorization = try Authorization(header: "\(algorithm) Credential=\(credential), SignedHeaders=\(signedHeaders), Signature=\(signature)")
        guard authorization.service == "s3" else { throw .malformedCredential }
        if let region, authorization.region != region { throw .wrongRegion(expected: region) }
        guard let requestTime = parseAmzDate(amzDate), amzDate.hasPrefix(authorization.date) else { throw .missingDate }
        guard let expires = Int64(expiresText), (1...maxPresignedExpirySeconds).contains(expires) else { throw .malformedAuthorization }
        guard requestTime - clockSkewLimitSeconds <= nowSeconds else { throw .requestTimeTooSkewed }
        guard nowSeconds <= requestTime + expires else { throw .expired }
        guard authorization.signedHeaders.contains("host") else { throw .malformedAuthorization }
        guard let secret = secretFor(authorization.accessKey) else { throw .unknownAccessKey }
        let unsignedQuery = request.rawQuery.split(separator: "&").filter { !$0.hasPrefix("X-Amz-Signature=") }.joined(separator: "&")
        let canonicalRequest = Request(method: request.method, rawPath: request.rawPath, rawQuery: unsignedQuery, headers: request.headers)
        let canonical = canonicalRequestBytes(canonicalRequest, signedHeaders: authorization.signedHeaders, payloadHash: unsignedPayload)
        let expected = self.signature(secret: secret, authorization: authorization, amzDate: amzDate, canonicalRequest: canonical)
        guard constantTimeEqual(expected, authorization.signature) else { throw .signatureMismatch }
        return authorization
    }

    /// The request time as the string to sign carries it: `x-amz-date` when
    /// present (it wins over `Date`, as SigV4 says), else the `Date` header
    /// in ISO 8601 basic form or as an HTTP date.
    static func requestDate(_ request: Request) -> String? {
        if let amzDate = request.header("x-amz-date") { return amzDate }
        guard let date = request.header("date") else { return nil }
        if parseAmzDate(date) != nil { return date }
        return HTTPDate.parse(date).map { S3Dates.amzDate(UInt64(max(0, $0)) * 1000) }
    }

    /// `20130524T000000Z` → Unix seconds.
    public static func parseAmzDate(_ text: String) -> Int64? {
        let chars = Array(text.utf8)
        guard chars.count == 16, chars[8] == UInt8(ascii: "T"), chars[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for c in chars[range] {
                guard c >= 48 && c <= 57 else { return nil }
                value = value * 10 + Int64(c - 48)
            }
            return value
        }
        guard let y = number(0..<4), let mo = number(4..<6), let d = number(6..<8), let h = number(9..<11),
              let mi = number(11..<13), let s = number(13..<15), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
        // Days from civil (Howard Hinnant's algorithm).
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return days * 86400 + h * 3600 + mi * 60 + s
    }

    /// The values of every header named `name`, joined by ',', each with
    /// its leading and trailing spaces dropped and each run of spaces inside
    /// made one (SigV4's "trimall").
    static func appendCanonicalHeaderValue(_ request: Request, _ name: String, to out: inout [UInt8]) {
        let space = UInt8(ascii: " ")
        var first = true
        for header in request.headers where header.name == name {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            var wroteAny = false, spaceOwed = false
            for byte in header.value.utf8 {
                if byte == space {
                    spaceOwed = wroteAny
                    continue
                }
                if spaceOwed { out.append(space); spaceOwed = false }
                out.append(byte)
                wroteAny = true
            }
        }
    }

    /// S3 signs the path as the client encoded it; re-encode from the decoded
    /// form so '%2f' and '%2F', or '~' and '%7E', compare equal.
    static func canonicalPath(_ rawPath: String) -> String {
        let decoded = percentDecode(rawPath) ?? rawPath
        return uriEncode(decoded, keepSlash: true)
    }

    /// `canonicalPath`, appended; a path of unreserved bytes and '/' only
    /// (most are) is its own canonical form and is copied as it is.
    static func appendCanonicalPath(_ rawPath: String, to out: inout [UInt8]) {
        if rawPath.utf8.allSatisfy({ isUnreserved($0) || $0 == UInt8(ascii: "/") }) {
            out.append(contentsOf: rawPath.utf8)
        } else {
            out.append(contentsOf: canonicalPath(rawPath).utf8)
        }
    }

    /// RFC 3986's unreserved bytes, which SigV4 never percent-encodes.
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    static func canonicalQuery(_ rawQuery: String) -> String {
        guard !rawQuery.isEmpty else { return "" }
        let pairs = rawQuery.split(separator: "&", omittingEmptySubsequences: true).map { item -> (String, String) in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentDecode(String(parts[0]), plusIsSpace: true) ?? String(parts[0])
            let value = parts.count > 1 ? (percentDecode(String(parts[1]), plusIsSpace: true) ?? String(parts[1])) : ""
            return (uriEncode(name, keepSlash: false), uriEncode(value, keepSlash: false))
        }
        return pairs.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    public static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) || (keepSlash && byte == UInt8(ascii: "/")) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(upperDigits[Int(byte >> 4)])
                out.append(upperDigits[Int(byte & 15)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let upperDigits = Array("0123456789ABCDEF".utf8)

    public static func percentDecode(_ text: String, plusIsSpace: Bool = false) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let c = iterator.next() {
            if c == UInt8(ascii: "%") {
                guard let h = iterator.next(), let l = iterator.next(), let decoded = Hex.decode(String(decoding: [h, l], as: UTF8.self)) else {
                    return nil
                }
                bytes.append(decoded[0])
            } else if c == UInt8(ascii: "+") && plusIsSpace {
                bytes.append(UInt8(ascii: " "))
            } else {
                bytes.append(c)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// Why a request's signature was not accepted; S3Server maps each to its S3 code.
public enum SigV4Error: Error, Equatable, Sendable {
    case missingAuthorization
    case unsupportedAlgorithm
    case malformedAuthorization
    case malformedCredential
    case wrongRegion(expected: String)
    case missingDate
    case requestTimeTooSkewed
    case missingContentHash
    case unsupportedPayload(String)
    case unknownAccessKey
    case signatureMismatch
    /// A presigned URL used after `X-Amz-Date` + `X-Amz-Expires`.
    case expired
}
