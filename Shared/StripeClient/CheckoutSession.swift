/// A Checkout Session (`checkout.session`), in the fields we read.
public struct CheckoutSession: Decodable, Sendable {
    public var id: String
    /// The hosted page; null once the session is complete or expired.
    public var url: String?
    /// `open`, `complete` or `expired`.
    public var status: String?
    /// `paid`, `unpaid` or `no_payment_required`.
    public var payment_status: String
    public var payment_intent: ExpandableID?
    public var amount_total: Int64?
    public var currency: String?
    public var expires_at: Int64
    public var metadata: [String: String]?
}
