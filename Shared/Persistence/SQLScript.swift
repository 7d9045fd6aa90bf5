import Foundation

/// Splits a SQL script into statements, since Postgres' extended protocol runs one at a time.
/// Semicolons inside quotes, quoted identifiers, dollar-quoted bodies and comments do not split.
public enum SQLScript {
    public static func statements(in script: String) -> [String] {
        var statements: [String] = []
        var current = ""
        let chars = Array(script)
        var index = 0

        func flush() {
            let trimmed = current.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty, !isOnlyComments(trimmed) { statements.append(trimmed) }
            current = ""
        }

        while index < chars.count {
            let char = chars[index]
            let next: Character? = index + 1 < chars.count ? chars[index + 1] : nil
            switch char {
            case "'", "\"":
                let end = closingIndex(of: char, in: chars, from: index + 1)
                current.append(contentsOf: chars[index..<end])
                index = end
            case "-" where next == "-":
                let end = chars[index...].firstIndex(of: "\n") ?? chars.count
                current.append(contentsOf: chars[index..<end])
                index = end
            case "/" where next == "*":
                var end = index + 2
                while end + 1 < chars.count, !(chars[end] == "*" && chars[end + 1] == "/") { end += 1 }
                end = min(end + 2, chars.count)
                current.append(contentsOf: chars[index..<end])
                index = end
            case "$":
                if let tagEnd = dollarTagEnd(in: chars, from: index) {
                    let tag = chars[index...tagEnd]
                    var end = tagEnd + 1
                    while end < chars.count, !chars[end...].starts(with: tag) { end += 1 }
                    end = min(end + tag.count, chars.count)
                    current.append(contentsOf: chars[index..<end])
                    index = end
                } else {
                    current.append(char)
                    index += 1
                }
            case ";":
                flush()
                index += 1
            default:
                current.append(char)
                index += 1
            }
        }
        flush()
        return statements
    }

    /// Index just past the closing quote; a doubled quote is an escaped one.
    private static func closingIndex(of quote: Character, in chars: [Character], from start: Int) -> Int {
        var index = start
        while index < chars.count {
            if chars[index] == quote {
                if index + 1 < chars.count, chars[index + 1] == quote { index += 2; continue }
                return index + 1
            }
            index += 1
        }
        return chars.count
    }

    /// For `$tag$` or `$$` starting at `start`, the index of the tag's closing `$`.
    private static func dollarTagEnd(in chars: [Character], from start: Int) -> Int? {
        var index = start + 1
        while index < chars.count {
            let char = chars[index]
            if char == "$" { return index }
            guard char.isLetter || char == "_" || (char.isNumber && index > start + 1) else { return nil }
            index += 1
        }
        return nil
    }

    private static func isOnlyComments(_ statement: String) -> Bool {
        statement.split(separator: "\n").allSatisfy {
            let line = $0.trimmingCharacters(in: .whitespaces)
            return line.isEmpty || line.hasPrefix("--")
        }
    }
}
