/// RFC 2045 quoted-printable: readable ASCII stays as it is, everything else is `=XX`, and
/// lines are kept under 76 characters with soft breaks. Line breaks become CRLF.
enum QuotedPrintable {
    private static let hex = Array("0123456789ABCDEF".utf8)

    /// One pass over the UTF-8 bytes (a mail's HTML is several kilobytes, sent at tens a second).
    static func encode(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count + bytes.count / 4)
        var lineLength = 0
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            // "\n" or "\r\n" ends a line; a lone "\r" is data.
            if isLineBreak(bytes, at: index) {
                output.append(contentsOf: [0x0D, 0x0A])
                lineLength = 0
                index += byte == 0x0D ? 2 : 1
                continue
            }
            let endsLine = index + 1 == bytes.count || isLineBreak(bytes, at: index + 1)
            let literal: Bool
            switch byte {
            // Trailing whitespace would be stripped in transit, so it is encoded.
            case 0x20, 0x09: literal = !endsLine
            case 33...126: literal = byte != UInt8(ascii: "=")
            default: literal = false
            }
            let width = literal ? 1 : 3
            // 75 characters plus the soft-break "=" keeps every line within 76.
            if lineLength + width > 75 {
                output.append(contentsOf: [UInt8(ascii: "="), 0x0D, 0x0A])
                lineLength = 0
            }
            if literal {
                output.append(byte)
            } else {
                output.append(contentsOf: [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            }
            lineLength += width
            index += 1
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Whether a line break ("\n" or "\r\n") starts at `index`.
    private static func isLineBreak(_ bytes: [UInt8], at index: Int) -> Bool {
        guard index < bytes.count else { return false }
        return bytes[index] == 0x0A || (bytes[index] == 0x0D && index + 1 < bytes.count && bytes[index + 1] == 0x0A)
    }
}
