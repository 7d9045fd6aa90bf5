/// RFC 2045 quoted-printable: readable ASCII stays as it is, everything else is `=XX`, and
/// lines are kept under 76 characters with soft breaks. Line breaks become CRLF.
enum QuotedPrintable {
    static func encode(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF")
        var output = ""
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        for (lineIndex, line) in lines.enumerated() {
            if lineIndex > 0 { output += "\r\n" }
            let bytes = Array(line.utf8)
            var current = ""
            for (index, byte) in bytes.enumerated() {
                let isLast = index == bytes.count - 1
                let token: String
                switch byte {
                case 0x20, 0x09:
                    // Trailing whitespace would be stripped in transit, so it is encoded.
                    token = isLast ? "=" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0xF)]) : String(UnicodeScalar(byte))
                case 33...126 where byte != UInt8(ascii: "="):
                    token = String(UnicodeScalar(byte))
                default:
                    token = "=" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0xF)])
                }
                // 75 characters plus the soft-break "=" keeps every line within 76.
                if current.count + token.count > 75 {
                    output += current + "=\r\n"
                    current = ""
                }
                current += token
            }
            output += current
        }
        return output
    }
}
