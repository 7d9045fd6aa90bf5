/// Validated request parameters with typed accessors; `require…` throws Stripe's
/// `parameter_missing`.
struct FormParameters: Sendable {
    let root: FormValue

    init(_ root: FormValue = .map([])) { self.root = root }

    /// The value at a bracket path: `value("controller", "fees", "payer")`.
    func value(_ path: String...) -> FormValue? { value(at: path) }

    func value(at path: [String]) -> FormValue? {
        var current: FormValue? = root
        for key in path {
            current = current?.entries?.first { $0.key == key }?.value
        }
        return current
    }

    func has(_ name: String) -> Bool { value(name) != nil }

    func string(_ path: String...) -> String? {
        if case .string(let text)? = value(at: path) { return text }
        return nil
    }

    /// Schema validation has already refused anything but digits here.
    func integer(_ name: String) -> Int64? { string(name).flatMap { Int64($0) } }

    func bool(_ path: String...) -> Bool? {
        if case .string(let text)? = value(at: path) { return text == "true" }
        return nil
    }

    func strings(_ name: String) -> [String]? {
        value(name)?.elements?.compactMap { if case .string(let text) = $0 { text } else { nil } }
    }

    /// `metadata[k]=v` as a dictionary; `metadata=` (empty) is an empty dictionary.
    func metadata(_ name: String = "metadata") -> [String: String]? {
        guard let value = value(name) else { return nil }
        guard let entries = value.entries else { return [:] }
        var result: [String: String] = [:]
        for (key, item) in entries { if case .string(let text) = item { result[key] = text } }
        return result
    }

    func requireString(_ name: String) throws(StripeAPIError) -> String {
        guard let text = string(name), !text.isEmpty else { throw .missingParameter(name) }
        return text
    }

    func requireInteger(_ name: String) throws(StripeAPIError) -> Int64 {
        guard let number = integer(name) else { throw .missingParameter(name) }
        return number
    }

    /// A positive amount in minor units.
    func amount(_ name: String = "amount") throws(StripeAPIError) -> Int64? {
        guard let amount = integer(name) else { return nil }
        guard amount > 0 else { throw .invalidParameter(name, "This value must be greater than or equal to 1.", code: "parameter_invalid_integer") }
        return amount
    }

    /// A lowercased three-letter ISO currency.
    func currency(required: Bool) throws(StripeAPIError) -> String? {
        guard let text = string("currency") else {
            if required { throw .missingParameter("currency") }
            return nil
        }
        let currency = text.lowercased()
        guard currency.count == 3, currency.allSatisfy({ $0.isLetter && $0.isASCII }) else {
            throw .invalidParameter("currency", "Invalid currency: \(text).", code: "parameter_invalid_string")
        }
        return currency
    }
}
