import Foundation
import Testing

@testable import NotificationService

@Suite struct PDFWriterTests {
    @Test func everyXrefOffsetPointsAtItsObject() throws {
        let lines = (0..<120).map { PDFLine(text: "Line \($0) (with parentheses) and a \\ backslash, €5") }
        let bytes = [UInt8](PDFWriter.document(lines))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("%PDF-1.4\n"))
        #expect(text.hasSuffix("%%EOF\n"))
        let startxref = try #require(text.range(of: "startxref\n", options: .backwards))
        let xrefOffset = try #require(Int(text[startxref.upperBound...].prefix { $0.isNumber }))
        #expect(Array(bytes[xrefOffset..<xrefOffset + 5]) == Array("xref\n".utf8))
        let table = String(decoding: bytes[xrefOffset...], as: UTF8.self).components(separatedBy: "\n")
        let count = try #require(Int(table[1].split(separator: " ")[1]))
        #expect(table[2] == "0000000000 65535 f ")
        for object in 1..<count {
            let entry = table[2 + object]
            #expect(entry.count == 19)  // plus "\n": 20 bytes
            let offset = try #require(Int(entry.prefix(10)))
            let header = Array("\(object) 0 obj\n".utf8)
            #expect(Array(bytes[offset..<offset + header.count]) == header)
        }
        // 120 lines do not fit on one A4 page.
        #expect(text.contains("/Count 3"))
    }

    @Test func textIsEscapedForPDFStringsInWinAnsi() {
        #expect(String(decoding: PDFWriter.escaped("a(b)c\\d"), as: UTF8.self) == "a\\(b\\)c\\\\d")
        #expect(String(decoding: PDFWriter.escaped("€1 £2 ¥3"), as: UTF8.self) == "\\2001 \\2432 \\2453")
        #expect(String(decoding: PDFWriter.escaped("₩"), as: UTF8.self) == "?")
    }

    @Test func streamLengthsMatchTheirContent() throws {
        let text = String(decoding: PDFWriter.document([PDFLine(text: "Hello")]), as: UTF8.self)
        let length = try #require(text.range(of: "/Length ")).upperBound
        let value = try #require(Int(text[length...].prefix { $0.isNumber }))
        let start = try #require(text.range(of: "stream\n")).upperBound
        let end = try #require(text.range(of: "\nendstream")).lowerBound
        #expect(text.utf8.distance(from: start, to: end) == value)
    }
}
