/// A ledger account, named by kind and owner (e.g. the held funds of one escrow).
struct LedgerAccount: Hashable, Sendable, CustomStringConvertible {
    enum Kind: String, Sendable {
        /// Money the platform holds at the gateway (asset).
        case gatewayClearing = "gateway_clearing"
        /// Funds held for one escrow until release or refund.
        case escrowHeld = "escrow_held"
        case platformFees = "platform_fees"
        case sellerAvailable = "seller_available"
        case sellerPaidOut = "seller_paid_out"
        case buyerRefunds = "buyer_refunds"
        case chargebackLosses = "chargeback_losses"
    }

    var kind: Kind
    var owner: String?

    var description: String { owner.map { "\(kind.rawValue):\($0)" } ?? kind.rawValue }

    static let gatewayClearing = LedgerAccount(kind: .gatewayClearing, owner: nil)
    static let platformFees = LedgerAccount(kind: .platformFees, owner: nil)
    static func escrowHeld(_ escrow: String) -> LedgerAccount { .init(kind: .escrowHeld, owner: escrow) }
    static func sellerAvailable(_ seller: String) -> LedgerAccount { .init(kind: .sellerAvailable, owner: seller) }
}

/// One journal transaction: entries that are immutable once written and must balance to zero
/// per currency (debits positive, credits negative), amounts in minor units.
struct Journal: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        var account: LedgerAccount
        var amount: Int64
        var currency: String
    }

    enum Error: Swift.Error, Equatable {
        case empty
        case unbalanced(currency: String, by: Int64)
        case zeroEntry
    }

    var memo: String
    private(set) var entries: [Entry] = []

    init(memo: String) {
        self.memo = memo
    }

    mutating func debit(_ account: LedgerAccount, _ amount: Int64, _ currency: String) {
        entries.append(Entry(account: account, amount: amount, currency: currency))
    }

    mutating func credit(_ account: LedgerAccount, _ amount: Int64, _ currency: String) {
        entries.append(Entry(account: account, amount: -amount, currency: currency))
    }

    /// Checks that the transaction can be posted.
    func validated() throws(Error) -> Journal {
        guard !entries.isEmpty else { throw .empty }
        guard entries.allSatisfy({ $0.amount != 0 }) else { throw .zeroEntry }
        var totals: [String: Int64] = [:]
        for entry in entries { totals[entry.currency, default: 0] += entry.amount }
        if let (currency, total) = totals.first(where: { $0.value != 0 }) { throw .unbalanced(currency: currency, by: total) }
        return self
    }
}
