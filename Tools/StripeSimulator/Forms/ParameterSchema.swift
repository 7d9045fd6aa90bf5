/// The parameters an endpoint accepts. Anything else is refused as Stripe does
/// (`parameter_unknown`), and values of the wrong type get Stripe's `parameter_invalid_*`.
indirect enum ParameterSchema: Sendable {
    case string
    case integer
    case boolean
    case oneOf([String])
    case list(ParameterSchema)
    case object([String: ParameterSchema])
    /// Free keys, each value of one schema (`metadata`, `capabilities`).
    case dictionary(ParameterSchema)

    /// Stripe's metadata: string values under free keys (an empty `metadata=` clears it).
    static let metadata = ParameterSchema.dictionary(.string)

    /// A top-level schema; every endpoint also takes `expand[]` (accepted, not applied).
    static func parameters(_ fields: [String: ParameterSchema]) -> ParameterSchema {
        .object(fields.merging(["expand": .list(.string)]) { own, _ in own })
    }

    /// Checks `value` (named `name` in errors) against this schema.
    func validate(_ value: FormValue, name: String) throws(StripeAPIError) {
        switch self {
        case .string:
            guard case .string = value else { throw .invalidParameter(name, "Invalid string: \(name) must be a string", code: "parameter_invalid_string") }
        case .integer:
            guard case .string(let text) = value, Int64(text) != nil else {
                throw .invalidParameter(name, "Invalid integer: \(value.text)", code: "parameter_invalid_integer")
            }
        case .boolean:
            guard case .string(let text) = value, text == "true" || text == "false" else {
                throw .invalidParameter(name, "Invalid boolean: \(value.text)", code: "parameter_invalid_string")
            }
        case .oneOf(let allowed):
            guard case .string(let text) = value, allowed.contains(text) else {
                throw .invalidParameter(
                    name, "Invalid \(name): must be one of \(allowed.joined(separator: ", "))", code: "parameter_invalid_string")
            }
        case .list(let element):
            guard let elements = value.elements else { throw .invalidParameter(name, "Invalid array: \(name) must be an array", code: nil) }
            for (index, item) in elements.enumerated() { try element.validate(item, name: "\(name)[\(index)]") }
        case .object(let fields):
            guard let entries = value.entries else { throw .invalidParameter(name, "Invalid object: \(name) must be a hash", code: nil) }
            for (key, item) in entries {
                let child = name.isEmpty ? key : "\(name)[\(key)]"
                guard let schema = fields[key] else { throw .unknownParameter(child) }
                try schema.validate(item, name: child)
            }
        case .dictionary(let element):
            if case .string("") = value { return }
            guard let entries = value.entries else { throw .invalidParameter(name, "Invalid object: \(name) must be a hash", code: nil) }
            for (key, item) in entries { try element.validate(item, name: "\(name)[\(key)]") }
        }
    }
}

extension FormValue {
    /// How a value is quoted in an error message.
    var text: String {
        switch self {
        case .string(let text): text
        case .list, .map: canonical
        }
    }
}
