import Foundation

/// A parsed `application/x-www-form-urlencoded` body (or query string) with Stripe's bracket
/// syntax: `metadata[k]=v` nests, `types[]=card` appends, `types[0]=card` is an indexed entry.
indirect enum FormValue: Sendable, Equatable {
    case string(String)
    /// From `key[]=…`.
    case list([FormValue])
    /// From `key[name]=…`; insertion order kept, so errors name the first bad key a client sent.
    case map([(key: String, value: FormValue)])

    static func == (lhs: FormValue, rhs: FormValue) -> Bool { lhs.canonical == rhs.canonical }

    /// The entries of a map, or of a list read as `0`, `1`, ….
    var entries: [(key: String, value: FormValue)]? {
        switch self {
        case .string: nil
        case .list(let values): values.enumerated().map { (String($0.offset), $0.element) }
        case .map(let entries): entries
        }
    }

    /// The elements of `key[]=…` or of `key[0]=…&key[1]=…` (indexes in order).
    var elements: [FormValue]? {
        switch self {
        case .string: return nil
        case .list(let values): return values
        case .map(let entries):
            let indexed = entries.compactMap { entry in Int(entry.key).map { ($0, entry.value) } }
            guard indexed.count == entries.count else { return nil }
            return indexed.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// One text for equal parameters whatever order they were sent in: how idempotency
    /// compares a retry with the first request.
    var canonical: String {
        switch self {
        case .string(let text): return "\"\(text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\""
        case .list(let values): return "[" + values.map(\.canonical).joined(separator: ",") + "]"
        case .map(let entries):
            return "{" + entries.sorted { $0.key < $1.key }.map { "\(FormValue.string($0.key).canonical):\($0.value.canonical)" }
                .joined(separator: ",") + "}"
        }
    }
}

/// Why a body could not be read as a form.
struct FormSyntaxError: Error, Equatable {
    var parameter: String
    var message: String
}

extension FormValue {
    /// Parses `a=1&b[c]=2&d[]=3` into a map; `+` is a space, `%XX` a byte.
    static func parse(_ text: String) throws(FormSyntaxError) -> FormValue {
        var root = FormValue.map([])
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(parts[0])
            let value = parts.count > 1 ? decode(parts[1]) : ""
            let path = try keyPath(name)
            try root.insert(.string(value), at: path[...], fullName: name)
        }
        return root
    }

    /// `a[b][]` → ["a", "b", ""]; an empty segment means "append".
    private static func keyPath(_ name: String) throws(FormSyntaxError) -> [String] {
        guard let open = name.firstIndex(of: "[") else {
            guard !name.isEmpty else { throw FormSyntaxError(parameter: name, message: "Invalid parameter name: empty") }
            return [name]
        }
        var path = [String(name[..<open])]
        var rest = name[open...]
        while !rest.isEmpty {
            guard rest.first == "[", let close = rest.firstIndex(of: "]") else {
                throw FormSyntaxError(parameter: name, message: "Invalid parameter name: \(name)")
            }
            path.append(String(rest[rest.index(after: rest.startIndex)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        guard !path[0].isEmpty, !path.dropLast().dropFirst().contains("") else {
            throw FormSyntaxError(parameter: name, message: "Invalid parameter name: \(name) ('[]' may only end a name)")
        }
        return path
    }

    private mutating func insert(_ value: FormValue, at path: ArraySlice<String>, fullName: String) throws(FormSyntaxError) {
        guard let key = path.first else {
            self = value
            return
        }
        let rest = path.dropFirst()
        if key.isEmpty {
            // `name[]=v`: append to a list (the parser allows "" only as the last segment).
            switch self {
            case .list(var values):
                values.append(value)
                self = .list(values)
            case .map(let entries) where entries.isEmpty: self = .list([value])
            default: throw FormSyntaxError(parameter: fullName, message: "Invalid array: \(fullName) mixes [] with other keys")
            }
            return
        }
        guard case .map(var entries) = self else {
            throw FormSyntaxError(parameter: fullName, message: "Invalid hash: \(fullName) conflicts with a value sent under the same name")
        }
        if let index = entries.firstIndex(where: { $0.key == key }) {
            if rest.isEmpty {
                guard case .string = entries[index].value else {
                    throw FormSyntaxError(parameter: fullName, message: "Invalid hash: \(fullName) conflicts with a value sent under the same name")
                }
                entries[index].value = value  // a repeated scalar: the last one wins
            } else {
                try entries[index].value.insert(value, at: rest, fullName: fullName)
            }
        } else {
            var child = FormValue.map([])
            try child.insert(value, at: rest, fullName: fullName)
            entries.append((key, child))
        }
        self = .map(entries)
    }

    private static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}
