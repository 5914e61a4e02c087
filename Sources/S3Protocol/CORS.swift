/// A bucket's CORS rules (Put/Get/DeleteBucketCors) and how a browser's
/// request is matched against them: the preflight `OPTIONS` and the
/// `Access-Control-*` headers on the requests that follow. Pure.
public struct CORSConfiguration: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        public var id: String?
        public var allowedOrigins: [String]
        public var allowedMethods: [String]
        public var allowedHeaders: [String]
        public var exposeHeaders: [String]
        public var maxAgeSeconds: Int?

        public init(id: String? = nil, allowedOrigins: [String], allowedMethods: [String], allowedHeaders: [String] = [],
                    exposeHeaders: [String] = [], maxAgeSeconds: Int? = nil) {
            self.id = id; self.allowedOrigins = allowedOrigins; self.allowedMethods = allowedMethods
            self.allowedHeaders = allowedHeaders; self.exposeHeaders = exposeHeaders; self.maxAgeSeconds = maxAgeSeconds
        }
    }

    public var rules: [Rule]

    public static let maxRules = 100
    /// AWS's limit on the configuration document.
    public static let maxBodyBytes = 64 * 1024
    public static let methods: Set<String> = ["GET", "PUT", "HEAD", "POST", "DELETE"]

    public init(rules: [Rule]) { self.rules = rules }

    /// A `<CORSConfiguration>` document, checked as AWS checks it.
    public static func parse(_ body: String) throws(S3Error) -> CORSConfiguration {
        let malformed = S3Error(.malformedXML, "The XML you provided was not well-formed or did not validate against our published schema.")
        let root: XMLElement
        do { root = try XMLReader.parse(body) } catch { throw malformed }
        guard root.localName == "CORSConfiguration" else { throw malformed }
        var rules: [Rule] = []
        for element in root.children {
            guard element.localName == "CORSRule" else { throw malformed }
            var rule = Rule(id: element.first("ID")?.text, allowedOrigins: element.all("AllowedOrigin").map(\.text),
                            allowedMethods: element.all("AllowedMethod").map(\.text), allowedHeaders: element.all("AllowedHeader").map(\.text),
                            exposeHeaders: element.all("ExposeHeader").map(\.text))
            if let age = element.first("MaxAgeSeconds") {
                guard let seconds = Int(age.text.trimmed), seconds >= 0 else { throw malformed }
                rule.maxAgeSeconds = seconds
            }
            guard !rule.allowedOrigins.isEmpty, !rule.allowedMethods.isEmpty else { throw malformed }
            for method in rule.allowedMethods where !methods.contains(method) {
                throw S3Error(.invalidRequest, "Found unsupported HTTP method in CORS config. Unsupported method is \(method)")
            }
            for origin in rule.allowedOrigins where origin.filter({ $0 == "*" }).count > 1 {
                throw S3Error(.invalidRequest, "AllowedOrigin \"\(origin)\" can not have more than one wildcard.")
            }
            for header in rule.allowedHeaders where header.filter({ $0 == "*" }).count > 1 {
                throw S3Error(.invalidRequest, "AllowedHeader \"\(header)\" can not have more than one wildcard.")
            }
            rules.append(rule)
        }
        guard !rules.isEmpty else { throw malformed }
        guard rules.count <= maxRules else {
            throw S3Error(.invalidRequest, "A CORS configuration can have at most \(maxRules) rules.")
        }
        return CORSConfiguration(rules: rules)
    }

    /// The document as GetBucketCors answers it (and as Shale stores it).
    public var xml: String {
        var out = S3XML.declaration + "<CORSConfiguration xmlns=\"\(S3XML.namespace)\">"
        for rule in rules {
            out += "<CORSRule>"
            if let id = rule.id { out += S3XML.element("ID", id) }
            for origin in rule.allowedOrigins { out += S3XML.element("AllowedOrigin", origin) }
            for method in rule.allowedMethods { out += S3XML.element("AllowedMethod", method) }
            for header in rule.allowedHeaders { out += S3XML.element("AllowedHeader", header) }
            for header in rule.exposeHeaders { out += S3XML.element("ExposeHeader", header) }
            if let age = rule.maxAgeSeconds { out += S3XML.element("MaxAgeSeconds", String(age)) }
            out += "</CORSRule>"
        }
        return out + "</CORSConfiguration>"
    }

    /// The first rule that allows `origin` to send `method` with
    /// `requestHeaders` (a preflight's Access-Control-Request-Headers; none
    /// for the request itself), as AWS picks it.
    public func rule(origin: String, method: String, requestHeaders: [String] = []) -> Rule? {
        rules.first { rule in
            rule.allowedOrigins.contains { Self.matches(origin, pattern: $0) } && rule.allowedMethods.contains(method)
                && requestHeaders.allSatisfy { header in rule.allowedHeaders.contains { Self.matches(header.lowercased(), pattern: $0.lowercased()) } }
        }
    }

    /// `pattern` with at most one `*`, which stands for any run of characters.
    static func matches(_ text: String, pattern: String) -> Bool {
        guard let star = pattern.firstIndex(of: "*") else { return text == pattern }
        let prefix = pattern[..<star]
        let suffix = pattern[pattern.index(after: star)...]
        return text.count >= prefix.count + suffix.count && text.hasPrefix(prefix) && text.hasSuffix(suffix)
    }

    /// The `Access-Control-*` headers a matching rule gives an answer.
    /// `preflightHeaders`: the headers a preflight asked for (nil on the request itself).
    public static func responseHeaders(_ rule: Rule, origin: String, preflightHeaders: [String]?) -> [(name: String, value: String)] {
        let anyOrigin = rule.allowedOrigins.contains("*")
        var headers: [(name: String, value: String)] = [
            ("access-control-allow-origin", anyOrigin ? "*" : origin),
            ("access-control-allow-methods", rule.allowedMethods.joined(separator: ", ")),
            ("vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"),
        ]
        if !anyOrigin { headers.append(("access-control-allow-credentials", "true")) }
        if let preflightHeaders, !preflightHeaders.isEmpty {
            headers.append(("access-control-allow-headers", preflightHeaders.map { $0.lowercased() }.joined(separator: ", ")))
        }
        if !rule.exposeHeaders.isEmpty { headers.append(("access-control-expose-headers", rule.exposeHeaders.joined(separator: ", "))) }
        if let age = rule.maxAgeSeconds { headers.append(("access-control-max-age", String(age))) }
        return headers
    }

    /// Access-Control-Request-Headers as a list.
    public static func requestedHeaders(_ value: String?) -> [String] {
        (value ?? "").split(separator: ",").map { String($0).trimmed }.filter { !$0.isEmpty }
    }
}
