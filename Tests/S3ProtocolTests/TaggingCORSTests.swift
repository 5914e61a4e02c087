import S3Protocol
import Testing

@Suite struct TaggingCORSTests {
    func route(_ method: String, _ path: String, _ query: [String: String] = [:]) throws -> S3Operation {
        try S3Operation.route(method: method, rawPath: path, query: query)
    }

    @Test func routesTaggingACLAndCORS() throws {
        #expect(try route("GET", "/b/k", ["tagging": ""]) == .getObjectTagging(bucket: "b", key: "k"))
        #expect(try route("PUT", "/b/k", ["tagging": ""]).access == .write)
        #expect(try route("DELETE", "/b/k", ["tagging": ""]) == .deleteObjectTagging(bucket: "b", key: "k"))
        #expect(try route("GET", "/b/k", ["acl": ""]).access == .read)
        #expect(try route("PUT", "/b/k", ["acl": ""]) == .putObjectAcl(bucket: "b", key: "k"))
        #expect(try route("GET", "/b", ["tagging": ""]).access == .read)
        for (method, sub) in [("PUT", "tagging"), ("DELETE", "tagging"), ("PUT", "acl"), ("PUT", "cors"), ("DELETE", "cors")] {
            #expect(try route(method, "/b", [sub: ""]).access == .owner, "\(method) ?\(sub)")
        }
        #expect(try route("GET", "/b", ["cors": ""]) == .getBucketCors(bucket: "b"))
        #expect(throws: S3Error.self) { try route("POST", "/b", ["tagging": ""]) }
        #expect(throws: S3Error.self) { try route("DELETE", "/b/k", ["acl": ""]) }
        #expect(try S3Operation.target(rawPath: "/b/a%2Fb") == ("b", "a/b"))
        #expect(try S3Operation.target(rawPath: "/k", virtualBucket: "b") == ("b", "k"))
    }

    @Test func parsesTheTaggingHeader() throws {
        let tags = try Tagging.parse(header: "a=1&b%20c=d%26e&empty=&f=x+y", for: .object)
        #expect(tags == [.init(key: "a", value: "1"), .init(key: "b c", value: "d&e"), .init(key: "empty", value: ""), .init(key: "f", value: "x y")])
        #expect(try Tagging.parse(header: "", for: .object).isEmpty)
        #expect(throws: S3Error.self) { try Tagging.parse(header: "a=%zz", for: .object) }
        let fifty = (0..<50).map { "k\($0)=v" }.joined(separator: "&")
        #expect(try Tagging.parse(header: fifty, for: .bucket).count == 50)
        #expect(throws: S3Error.self) { try Tagging.parse(header: fifty, for: .object) }
    }

    @Test func rendersTagsEscaped() {
        let xml = Tagging.xml([.init(key: "a<b", value: "c&d")])
        #expect(xml.contains("<Tag><Key>a&lt;b</Key><Value>c&amp;d</Value></Tag>"))
    }

    @Test func matchesCORSRulesAsAWSDoes() throws {
        let config = try CORSConfiguration.parse("""
            <CORSConfiguration><CORSRule><AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod>\
            <AllowedHeader>*</AllowedHeader></CORSRule><CORSRule><AllowedOrigin>http://localhost:8080</AllowedOrigin>\
            <AllowedMethod>PUT</AllowedMethod><AllowedHeader>Content-Type</AllowedHeader></CORSRule></CORSConfiguration>
            """)
        #expect(config.rule(origin: "https://app.example.com", method: "GET", requestHeaders: ["X-Anything"]) != nil)
        #expect(config.rule(origin: "https://example.com", method: "GET") == nil, "the wildcard stands for at least the dot's prefix")
        #expect(config.rule(origin: "http://app.example.com", method: "GET") == nil)
        #expect(config.rule(origin: "http://localhost:8080", method: "PUT", requestHeaders: ["content-type"]) != nil)
        #expect(config.rule(origin: "http://localhost:8080", method: "PUT", requestHeaders: ["x-amz-date"]) == nil)
        #expect(config.rule(origin: "http://localhost:8080", method: "GET") == nil)
        #expect(try CORSConfiguration.parse(config.xml) == config, "what is stored reads back the same")
        #expect(throws: S3Error.self) { try CORSConfiguration.parse("<CORSConfiguration/>") }
        #expect(throws: S3Error.self) {
            try CORSConfiguration.parse("<CORSConfiguration><CORSRule><AllowedOrigin>*.*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>")
        }
    }

    @Test func acceptsOnlyTheOwnersFullControl() throws {
        let grant = { (id: String, permission: String) in
            "<Grant><Grantee><ID>\(id)</ID></Grantee><Permission>\(permission)</Permission></Grant>"
        }
        let policy = { (grants: String) in "<AccessControlPolicy><AccessControlList>\(grants)</AccessControlList></AccessControlPolicy>" }
        try AccessControl.checkPolicy(policy(grant("GKowner", "FULL_CONTROL")), ownerID: "GKowner")
        #expect(throws: S3Error.self) { try AccessControl.checkPolicy(policy(grant("GKowner", "FULL_CONTROL") + grant("GKother", "READ")), ownerID: "GKowner") }
        #expect(throws: S3Error.self) { try AccessControl.checkPolicy(policy(grant("GKowner", "READ")), ownerID: "GKowner") }
        #expect(throws: S3Error.self) { try AccessControl.checkPolicy(policy(""), ownerID: "GKowner") }
        #expect(throws: S3Error.self) { try AccessControl.checkPolicy("<nope", ownerID: "GKowner") }
    }

    static func lifecycle(_ rules: String) -> String { "<LifecycleConfiguration>\(rules)</LifecycleConfiguration>" }

    @Test func parsesLifecycleRulesAsAWSChecksThem() throws {
        let rules = try LifecycleXML.parse(Self.lifecycle("""
            <Rule><ID>tmp</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>7</Days></Expiration>\
            <AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>\
            <Rule><ID>dated</ID><Filter><And><Prefix>logs/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag>\
            <ObjectSizeGreaterThan>100</ObjectSizeGreaterThan></And></Filter><Status>Disabled</Status>\
            <Expiration><Date>2027-01-01T00:00:00.000Z</Date></Expiration></Rule>\
            <Rule><ID>legacy</ID><Prefix>old/</Prefix><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays>\
            </NoncurrentVersionExpiration></Rule>
            """))
        #expect(rules.map(\.id) == ["tmp", "dated", "legacy"])
        #expect(rules[0].expirationDays == 7 && rules[0].abortIncompleteDays == 2 && rules[0].prefix == "tmp/")
        #expect(rules[1].tags == [.init(key: "k", value: "v")] && rules[1].sizeGreaterThan == 100 && !rules[1].enabled)
        #expect(rules[1].expirationDate == SigV4.parseAmzDate("20270101T000000Z"))
        #expect(rules[2].prefix == "old/" && rules[2].noncurrentDays == 30)
        #expect(try LifecycleXML.parse(LifecycleXML.render(rules)) == rules, "what is shown reads back the same")

        let refused: [(String, S3Error.Code)] = [
            ("<Rule><ID>t</ID><Filter/><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>",
             .notImplemented),
            ("<Rule><ID>d</ID><Filter/><Status>Enabled</Status><Expiration><Date>2027-01-01T10:00:00Z</Date></Expiration></Rule>", .invalidArgument),
            ("<Rule><ID>n</ID><Filter/><Status>Enabled</Status></Rule>", .invalidRequest),
            ("<Rule><ID>z</ID><Filter/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration></Rule>", .invalidArgument),
            ("<Rule><ID>s</ID><Filter/><Status>Maybe</Status><Expiration><Days>1</Days></Expiration></Rule>", .malformedXML),
            ("<Rule><ID>a</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload>" +
             "<DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>", .invalidRequest),
            ("<Rule><ID>x</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>" +
             "<Rule><ID>x</ID><Filter/><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>", .invalidArgument),
        ]
        for (document, code) in refused {
            #expect(throws: S3Error.self, "\(document)") { try LifecycleXML.parse(Self.lifecycle(document)) }
            do { _ = try LifecycleXML.parse(Self.lifecycle(document)) } catch { #expect(error.code == code, "\(document)") }
        }
    }
}
