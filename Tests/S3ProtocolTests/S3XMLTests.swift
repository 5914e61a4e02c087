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
}
