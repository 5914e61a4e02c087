import S3Protocol
import Testing

@Suite struct S3XMLTests {
    @Test func errorDocumentEscapesEverything() {
        let xml = S3XML.error(code: "NoSuchKey", message: "The specified key does not exist.", resource: "/b/a<&>\"'", requestID: "r1")
        #expect(xml == S3XML.declaration + "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>"
            + "<Resource>/b/a&lt;&amp;&gt;&quot;&apos;</Resource><RequestId>r1</RequestId></Error>")
    }

    @Test func listObjectsV2Shape() {
        let list = S3XML.ListV2(bucket: "b", prefix: "raw/", delimiter: "/", maxKeys: 2, continuationToken: nil, startAfter: nil,
                                nextContinuationToken: "tok", isTruncated: true,
                                objects: [.init(key: "raw/a b.parquet", lastModified: "2026-11-26T10:00:00.000Z", etag: "abc", size: 17)],
                                commonPrefixes: ["raw/2026/"], urlEncoded: true)
        let xml = S3XML.listObjectsV2(list)
        #expect(xml.contains("<Key>raw/a%20b.parquet</Key>"))
        #expect(xml.contains("<KeyCount>2</KeyCount>"))
        #expect(xml.contains("<IsTruncated>true</IsTruncated><NextContinuationToken>tok</NextContinuationToken>"))
        #expect(xml.contains("<ETag>&quot;abc&quot;</ETag>"))
        #expect(xml.contains("<CommonPrefixes><Prefix>raw/2026/</Prefix></CommonPrefixes>"))
        #expect(xml.hasSuffix("</ListBucketResult>"))
    }

    @Test func controlCharactersAreCharacterReferences() {
        #expect(S3XML.escape("a\u{01}b") == "a&#x1;b")
    }

    /// ListObjects (v1) leaves Prefix as sent under encoding-type=url, as AWS
    /// does; the SDKs decode every other field, so an encoded Prefix reached users as `a%0A`.
    @Test func listV1PrefixIsNotURLEncoded() {
        let xml = S3XML.listObjectsV1(bucket: "b", prefix: "a\nb c", delimiter: "/", marker: nil, nextMarker: nil, maxKeys: 10,
                                      isTruncated: false, objects: [.init(key: "a\nb c/d", lastModified: "x", etag: "e", size: 1)],
                                      commonPrefixes: ["a\nb c/"], urlEncoded: true)
        #expect(xml.contains("<Prefix>a\nb c</Prefix>"))
        #expect(xml.contains("<Key>a%0Ab%20c/d</Key>"))
        #expect(xml.contains("<CommonPrefixes><Prefix>a%0Ab%20c/</Prefix></CommonPrefixes>"))
    }

    /// Without encoding-type, control characters are never percent-encoded; CR is escaped so XML parsers keep it.
    @Test func controlCharactersWithoutEncoding() {
        let xml = S3XML.listObjectsV1(bucket: "b", prefix: "a\r\n", delimiter: nil, marker: nil, nextMarker: nil, maxKeys: 10,
                                      isTruncated: false, objects: [], commonPrefixes: [], urlEncoded: false)
        #expect(xml.contains("<Prefix>a&#xd;\n</Prefix>"))
        #expect(!xml.contains("%0A"))
    }
}
