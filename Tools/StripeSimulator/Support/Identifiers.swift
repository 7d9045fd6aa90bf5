import Foundation

/// Stripe-looking ids (`pi_3Q…`) and timestamps.
enum Identifiers {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    /// `prefix_` and 24 random letters and digits.
    static func make(_ prefix: String, length: Int = 24) -> String {
        prefix + "_" + String((0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count)] })
    }

    /// Unix seconds, as Stripe's `created`.
    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }
}
