import Testing
import Units

@Suite("Text formatting")
struct TextFormattingTests {
    @Test("fixed-point numbers")
    func fixedPoint() {
        #expect(fixed(1.5, decimals: 2) == "1.50")
        #expect(fixed(20.4712, decimals: 3) == "20.471")
        #expect(fixed(0.05, decimals: 1) == "0.1")
        #expect(fixed(-2.25, decimals: 1) == "-2.3")
        #expect(fixed(-0.001, decimals: 2) == "0.00")
        #expect(fixed(7, decimals: 0) == "7")
    }

    @Test("tables align columns, right-align what is asked, leave the last column unpadded")
    func table() {
        let table = TextTable(headers: ["ID", "RATE", "NOTE"], rows: [["a", "1.5", "x"], ["long-id", "12.25", ""]], rightAligned: [1])
        #expect(table.lines == ["ID        RATE  NOTE", "a          1.5  x", "long-id  12.25  "])
    }
}
