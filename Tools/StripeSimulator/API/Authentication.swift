import Foundation

/// Stripe's API key check: `Authorization: Bearer sk_test_…` (or Basic with the key as user
/// name). Any test secret key is accepted; the key is never logged, and errors mask it.
enum Authentication {
    static func check(_ header: String?) throws(StripeAPIError) {
        guard let header, !header.isEmpty else {
            throw .authentication(
                "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.")
        }
        let key: String
        if header.lowercased().hasPrefix("bearer ") {
            key = header.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
        } else if header.lowercased().hasPrefix("basic "),
            let decoded = Data(base64Encoded: header.dropFirst("basic ".count).trimmingCharacters(in: .whitespaces)),
            let credentials = String(data: decoded, encoding: .utf8)
        {
            key = String(credentials.prefix { $0 != ":" })
        } else {
            throw .authentication("Invalid authorization header: use 'Authorization: Bearer YOUR_SECRET_KEY'.")
        }
        guard key.hasPrefix("sk_test_") || key.hasPrefix("rk_test_"), key.count > 8 else {
            throw .authentication("Invalid API Key provided: \(masked(key)). The simulator accepts any test secret key (sk_test_…).")
        }
    }

    /// `sk_test_****************1234`, as Stripe shows keys in errors.
    static func masked(_ key: String) -> String {
        guard key.count > 12 else { return String(repeating: "*", count: key.count) }
        return key.prefix(8) + String(repeating: "*", count: key.count - 12) + key.suffix(4)
    }
}
