import Checksums
@testable import ClusterModel
import Foundation
import Placement
import Testing
import Units

/// `JSONScanner` reads rows as `JSONDecoder` does, or leaves them to it.
@Suite struct RowJSONReaderTests {
    var commonRows: [ObjectRecord] {
        var rows = RowJSONTests().commonRows
        var composite = RowJSONTests().version()
        composite.checksum = ObjectChecksum(algorithm: .sha256, digest: Array(0..<32), type: .composite, partCount: 3)
        composite.contentType = "application/x-\u{10FFFF}"
        rows.append(ObjectRecord(bucketID: "00ff", key: "composite", stamp: RowJSONTests().stamp, version: composite))
        return rows
    }

    var otherRows: [ObjectRecord] {
        var tagged = RowJSONTests().version()
        tagged.tags = [ObjectTag(key: "t", value: "v")]
        var multipart = RowJSONTests().version()
        multipart.parts = [ObjectPart(number: 1, etag: "p", checksum: nil, lastModifiedMillis: 1, data: multipart.body)]
        return ObjectRowHeadTests().rows.filter { $0.upload != nil || $0.part != nil || $0.marker != nil }
            + [tagged, multipart].map { ObjectRecord(bucketID: "00ff", key: "o", stamp: RowJSONTests().stamp, version: $0) }
    }

    /// The row the scanner reads alone (nil: it misses).
    static func scanned(_ json: Data) -> ObjectRecord? {
        json.withUnsafeBytes { bytes in
            var scanner = JSONScanner(bytes)
            guard let row = try? scanner.row(), (try? scanner.end()) != nil else { return nil }
            return row
        }
    }

    /// Each row as this build writes it, and as JSONEncoder writes it (its
    /// own key order, '/' escaped, pretty-printed with white space between).
    func encodings(_ record: ObjectRecord) throws -> [Data] {
        let pretty = JSONEncoder()
        pretty.outputFormatting = [.prettyPrinted]
        return [try record.rowJSON(), try JSONEncoder().encode(record), try pretty.encode(record)]
    }

    @Test func commonRowsAreScannedToWhatJSONDecoderReads() throws {
        for record in commonRows {
            for json in try encodings(record) {
                let scanned = try #require(Self.scanned(json), "\(String(decoding: json, as: UTF8.self))")
                #expect(scanned == record, "\(String(decoding: json, as: UTF8.self))")
                #expect(try JSONDecoder().decode(ObjectRecord.self, from: json) == scanned)
                #expect(try ObjectRowHead.decodeRow(json) == ObjectRowHead(of: record))
            }
        }
    }

    /// Parts, tags, uploads and markers are JSONDecoder's: the scanner misses
    /// them whole, and `decodeRow` still reads them; their heads are scanned.
    @Test func otherRowsAreLeftToJSONDecoder() throws {
        for record in otherRows {
            for json in try encodings(record) {
                #expect(Self.scanned(json) == nil)
                #expect(try ObjectRecord.decodeRow(json) == record)
                #expect(try ObjectRowHead.decodeRow(json) == ObjectRowHead(of: record))
            }
        }
    }

    /// Whatever a row's bytes, `decodeRow` reads what JSONDecoder reads, or
    /// fails where it fails: every single-byte change of common rows (seeded).
    @Test func aDamagedRowReadsAsJSONDecoderReadsIt() throws {
        var generator = SplitMix64(seed: 14)
        let replacements = Array("{}[]\":,\\/0123456789.-eE+ntfu \u{1}aé".utf8)
        var agreed = 0, misread: [String] = []
        for record in commonRows where record.version?.inlineData == nil {
            let json = try record.rowJSON()
            for _ in 0..<300 {
                var damaged = json
                let position = Int.random(in: 0..<damaged.count, using: &generator)
                if Bool.random(using: &generator) {
                    damaged[position] = replacements.randomElement(using: &generator)!
                } else {
                    damaged.remove(at: position)
                }
                let expected = try? JSONDecoder().decode(ObjectRecord.self, from: damaged)
                let read = try? ObjectRecord.decodeRow(damaged)
                let expectedHead = try? JSONDecoder().decode(ObjectRowHead.self, from: damaged)
                let readHead = try? ObjectRowHead.decodeRow(damaged)
                if read == expected && (readHead == expectedHead || expectedHead == nil && expected == nil) {
                    agreed += 1
                } else {
                    misread.append(String(decoding: damaged, as: UTF8.self))
                }
            }
        }
        #expect(misread.isEmpty, "\(misread.prefix(3))")
        #expect(agreed > 1000)
    }

    @Test func documentsTheScannerDoesNotTakeOnFallBack() throws {
        let row = try commonRows[0].rowJSON()
        let text = String(decoding: row, as: UTF8.self)
        // A size written with a fraction, a key given twice, escapes of every kind, a newer format.
        let fraction = text.replacingOccurrences(of: "\"size\":5", with: "\"size\":5.0")
        let twice = text.replacingOccurrences(of: "{\"bucketID\":\"00ff\"", with: "{\"bucketID\":\"00fe\",\"bucketID\":\"00ff\"")
        let escaped = text.replacingOccurrences(of: "\"etag\":\"e\"", with: #""etag":"\u0065\ud83d\ude00\/\t""#)
        let newer = text.replacingOccurrences(of: "\"format\":8", with: "\"format\":99")
        for document in [fraction, twice, escaped, newer] {
            let data = Data(document.utf8)
            let expected = Result { try JSONDecoder().decode(ObjectRecord.self, from: data) }
            let read = Result { try ObjectRecord.decodeRow(data) }
            switch (expected, read) {
            case let (.success(a), .success(b)): #expect(a == b, "\(document)")
            case (.failure, .failure): break
            default: Issue.record("\(document): JSONDecoder \(expected), decodeRow \(read)")
            }
        }
        #expect(try ObjectRecord.decodeRow(Data(escaped.utf8)).version?.etag == "e😀/\t")
        #expect(throws: (any Error).self) { try ObjectRecord.decodeRow(Data(newer.utf8)) }
    }
}
