import Foundation

/// A line of text on a PDF page.
struct PDFLine: Sendable, Equatable {
    var text: String
    var size: Double = 11
    var bold: Bool = false
    /// Extra space above the line, in points.
    var gap: Double = 0
}

/// Writes a minimal PDF 1.4: A4 pages of Helvetica text (WinAnsi-encoded), a catalog, a page
/// tree and an exact cross-reference table, so any reader (and `pdftotext`) opens it.
enum PDFWriter {
    static let pageWidth = 595.0
    static let pageHeight = 842.0
    static let margin = 56.0

    static func document(_ lines: [PDFLine]) -> Data {
        let pages = paginate(lines)
        // 1 catalog, 2 page tree, 3 Helvetica, 4 Helvetica-Bold, then a page and its content per page.
        var objects: [[UInt8]] = []
        let pageIds = pages.indices.map { 5 + 2 * $0 }
        objects.append(Array("<< /Type /Catalog /Pages 2 0 R >>".utf8))
        objects.append(Array("<< /Type /Pages /Kids [\(pageIds.map { "\($0) 0 R" }.joined(separator: " "))] /Count \(pages.count) >>".utf8))
        objects.append(Array("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".utf8))
        objects.append(Array("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".utf8))
        for (index, page) in pages.enumerated() {
            let contentId = pageIds[index] + 1
            objects.append(Array(
                """
                << /Type /Page /Parent 2 0 R /MediaBox [0 0 \(Int(pageWidth)) \(Int(pageHeight))] \
                /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents \(contentId) 0 R >>
                """.utf8))
            let stream = content(page)
            objects.append(Array("<< /Length \(stream.count) >>\nstream\n".utf8) + stream + Array("\nendstream".utf8))
        }

        // The binary comment tells transfer tools the file is not text.
        var output: [UInt8] = Array("%PDF-1.4\n%".utf8) + [0xE2, 0xE3, 0xCF, 0xD3, 0x0A]
        var offsets: [Int] = []
        for (index, body) in objects.enumerated() {
            offsets.append(output.count)
            output += Array("\(index + 1) 0 obj\n".utf8) + body + Array("\nendobj\n".utf8)
        }
        let xref = output.count
        // Each entry is exactly 20 bytes: 10-digit offset, 5-digit generation, type, then " \n".
        var table = "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        for offset in offsets { table += String(format: "%010d 00000 n \n", offset) }
        table += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        output += Array(table.utf8)
        return Data(output)
    }

    /// Splits lines into pages by the height they take.
    static func paginate(_ lines: [PDFLine]) -> [[PDFLine]] {
        var pages: [[PDFLine]] = [[]]
        var used = 0.0
        let available = pageHeight - 2 * margin
        for line in lines {
            let height = line.size * 1.4 + line.gap
            if used + height > available && !pages[pages.count - 1].isEmpty {
                pages.append([])
                used = 0
            }
            pages[pages.count - 1].append(line)
            used += height
        }
        return pages
    }

    /// The page's content stream: one text object, each line placed absolutely.
    static func content(_ lines: [PDFLine]) -> [UInt8] {
        var stream: [UInt8] = []
        var y = pageHeight - margin
        for line in lines {
            y -= line.size * 1.4 + line.gap
            stream += Array("BT /\(line.bold ? "F2" : "F1") \(format(line.size)) Tf \(format(margin)) \(format(y)) Td (".utf8)
            stream += escaped(line.text)
            stream += Array(") Tj ET\n".utf8)
        }
        return stream
    }

    /// A PDF string literal's bytes in WinAnsi: parentheses and backslashes escaped, bytes above
    /// 127 as octal escapes, characters WinAnsi cannot show as "?".
    static func escaped(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for scalar in text.unicodeScalars {
            let byte: UInt8
            switch scalar.value {
            case 0x20...0x7E: byte = UInt8(scalar.value)
            case 0xA0...0xFF: byte = UInt8(scalar.value)
            case 0x20AC: byte = 0x80  // €
            case 0x2013: byte = 0x96  // –
            case 0x2014: byte = 0x97  // —
            case 0x2022: byte = 0x95  // •
            default: byte = UInt8(ascii: "?")
            }
            switch byte {
            case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\\"):
                bytes += [UInt8(ascii: "\\"), byte]
            case 0x80...0xFF:
                bytes += Array(("\\" + String(byte, radix: 8)).utf8)
            default:
                bytes.append(byte)
            }
        }
        return bytes
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value)
    }
}
