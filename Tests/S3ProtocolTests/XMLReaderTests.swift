import S3Protocol
import Testing

@Suite struct XMLReaderTests {
    @Test func readsElementsTextAndReferences() throws {
        let root = try XMLReader.parse("""
            <?xml version="1.0" encoding="UTF-8"?>
            <Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><!-- c -->
              <Object><Key>a &amp; b &lt;c&gt; &#x41;&#66; &quot;é&apos;</Key></Object>
              <Object><Key></Key><VersionId>v1</VersionId></Object>
              <Quiet>true</Quiet><Empty/>
            </Delete>
            """)
        #expect(root.name == "Delete" && root.all("Object").count == 2)
        #expect(root.all("Object")[0].first("Key")?.text == "a & b <c> AB \"é'")
        #expect(root.all("Object")[1].first("VersionId")?.text == "v1")
        #expect(root.first("Quiet")?.text == "true" && root.first("Empty") != nil)
        #expect(try XMLReader.parse("<s3:Delete xmlns:s3=\"x\"><s3:Quiet>false</s3:Quiet></s3:Delete>").first("Quiet")?.text == "false")
    }

    @Test(arguments: ["", "<a>", "<a></b>", "<a>x</a><b/>", "text", "<a>&bogus;</a>", "<a>&#xFFFFFFFF;</a>",
                      "<!DOCTYPE a [<!ENTITY x \"y\">]><a/>", "<a><![CDATA[x]]></a>", "<a attr=\"unterminated></a>",
                      String(repeating: "<a>", count: 40) + String(repeating: "</a>", count: 40)])
    func refusesMalformedDocuments(_ text: String) {
        #expect(throws: XMLReader.Malformed.self) { try XMLReader.parse(text) }
    }

    /// A seeded stream of mangled bodies: the reader answers or refuses, never crashes or loops.
    @Test func survivesMangledInput() {
        var state: UInt64 = 0x5EED
        let base = Array("<Delete><Object><Key>k&amp;1</Key></Object><Quiet>true</Quiet></Delete>".unicodeScalars)
        for _ in 0..<3000 {
            var scalars = base
            let pool = Array("<>/&;#x\"' a".unicodeScalars)
            for _ in 0..<3 where !scalars.isEmpty {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let at = Int(state >> 33) % scalars.count
                let pick = pool[Int(state >> 20) % pool.count]
                if state & 1 == 0 { scalars[at] = pick } else { scalars.remove(at: at) }
            }
            _ = try? XMLReader.parse(String(String.UnicodeScalarView(scalars)))
        }
    }
}

@Suite struct DeleteObjectsRequestTests {
    @Test func parsesKeysQuietAndVersions() throws {
        let request = try DeleteObjectsRequest.parse("<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object><Object><Key>b</Key><VersionId>3</VersionId></Object></Delete>")
        #expect(request.quiet)
        #expect(request.objects == [.init(key: "a", versionID: nil), .init(key: "b", versionID: "3")])
        #expect(try !DeleteObjectsRequest.parse("<Delete><Object><Key>a</Key></Object></Delete>").quiet)
    }

    @Test func refusesWhatIsNotADeleteOfOneToAThousandKeys() {
        let many = "<Delete>" + String(repeating: "<Object><Key>k</Key></Object>", count: 1001) + "</Delete>"
        for body in ["<Delete></Delete>", "<Other><Object><Key>a</Key></Object></Other>", "<Delete><Object></Object></Delete>",
                     "<Delete><Quiet>maybe</Quiet><Object><Key>a</Key></Object></Delete>", many, "not xml"] {
            #expect(throws: S3Error(.malformedXML, "The XML you provided was not well-formed or did not validate against our published schema.")) {
                try DeleteObjectsRequest.parse(body)
            }
        }
    }

    @Test func answerEscapesKeys() {
        let xml = S3XML.deleteResult(deleted: [.init(key: "a&b")], errors: [.init(key: "<k>", code: "NotImplemented", message: "m")])
        #expect(xml.contains("<Deleted><Key>a&amp;b</Key></Deleted>"))
        #expect(xml.contains("<Error><Key>&lt;k&gt;</Key><Code>NotImplemented</Code><Message>m</Message></Error>"))
    }
}
