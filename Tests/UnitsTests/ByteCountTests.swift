import Testing
import Units

@Suite("ByteCount")
struct ByteCountTests {
    @Test("parses SI and binary units exactly")
    func parses() throws {
        let cases: [(String, UInt64)] = [
            ("10G", 10_000_000_000), ("500M", 500_000_000), ("1.5T", 1_500_000_000_000),
            ("10GiB", 10 * 1 << 30), ("512MiB", 512 * 1 << 20), ("1MiB", 1 << 20), ("64KiB", 65_536),
            ("4096", 4096), ("1kb", 1000), ("0.5K", 500), ("2 GB", 2_000_000_000), ("0", 0), ("1.25GiB", 1_342_177_280),
        ]
        for (text, bytes) in cases {
            #expect(try ByteCount(parsing: text).bytes == bytes, "\(text)")
        }
    }

    @Test("rejects bad values with a clear error")
    func rejects() {
        #expect(throws: ByteCount.ParseError.empty) { try ByteCount(parsing: " ") }
        #expect(throws: ByteCount.ParseError.notANumber("G10")) { try ByteCount(parsing: "G10") }
        #expect(throws: ByteCount.ParseError.notANumber("1.2.3G")) { try ByteCount(parsing: "1.2.3G") }
        #expect(throws: ByteCount.ParseError.unknownUnit("X", input: "10X")) { try ByteCount(parsing: "10X") }
        #expect(throws: ByteCount.ParseError.negative("-5G")) { try ByteCount(parsing: "-5G") }
        #expect(throws: ByteCount.ParseError.tooLarge("100000E")) { try ByteCount(parsing: "100000E") }
        #expect(throws: ByteCount.ParseError.fractionalBytes("1.5")) { try ByteCount(parsing: "1.5") }
        #expect(ByteCount.ParseError.unknownUnit("X", input: "10X").description.contains("GiB"))
    }

    @Test("renders as the guide prints capacities")
    func renders() {
        #expect(ByteCount(bytes: 10_000_000_000).description == "10.0 GB")
        #expect(ByteCount(bytes: 1 << 20).binaryDescription == "1.0 MiB")
        #expect(ByteCount(bytes: 999).description == "999 B")
        #expect(ByteCount(bytes: 1_500_000_000_000).description == "1.5 TB")
    }
}
