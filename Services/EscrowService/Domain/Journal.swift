import Foundation

/// A ledger account, named by kind and owner (e.g. the held funds of one escrow).
struct LedgerAccount: Hashable, Sendable, CustomStringConvertible {
    enum Kind: String, Sendable {
        /// Money the platform holds at the gateway (asset).
        case gatewayClearing = "gateway_clearing"
        /// Funds held for one escrow until release or refund.
        case escrowHeld = "escrow_held"
        case platformFees = "platform_fees"
        case sellerAvailable = "seller_available"
        /// Requested payouts the gateway has not settled yet.
        case sellerInTransit = "seller_in_transit"
        case sellerPaidOut = "seller_paid_out"
        case buyerRefunds = "buyer_refunds"
        /// Card chargebacks the seller's balance could not cover.
        case chargebackLosses = "chargeback_losses"
        /// Refunds after release that the seller's balance could not cover.
        case refundLosses = "refund_losses"
        /// What the platform owes a buyer as store credit (liability: credits raise the balance).
        case buyerWallet = "buyer_wallet"
        /// Balances imported from another marketplace (the other side of each import).
        case walletOpeningBalances = "wallet_opening_balances"
        /// Store credit admins granted (the platform's expense).
        case walletCreditGrants = "wallet_credit_grants"
        /// Store credit a payment holds until it succeeds (then it funds the escrows) or fails.
        case walletHeld = "wallet_held"
    }

    var kind: Kind
    var owner: String?

    var description: String { owner.map { "\(kind.rawValue):\($0)" } ?? kind.rawValue }

    static let gatewayClearing = LedgerAccount(kind: .gatewayClearing, owner: nil)
    static let platformFees = LedgerAccount(kind: .platformFees, owner: nil)
    static let buyerRefunds = LedgerAccount(kind: .buyerRefunds, owner: nil)
    static let chargebackLosses = LedgerAccount(kind: .chargebackLosses, owner: nil)
    static let refundLosses = LedgerAccount(kind: .refundLosses, owner: nil)
    static func escrowHeld(_ escrow: UUID) -> LedgerAccount { .init(kind: .escrowHeld, owner: escrow.uuidString.lowercased()) }
    static func sellerAvailable(_ seller: String) -> LedgerAccount { .init(kind: .sellerAvailable, owner: seller) }
    static func sellerInTransit(_ seller: String) -> LedgerAccount { .init(kind: .sellerInTransit, owner: seller) }
    static func sellerPaidOut(_ seller: String) -> LedgerAccount { .init(kind: .sellerPaidOut, owner: seller) }
    static let walletOpeningBalances = LedgerAccount(kind: .walletOpeningBalances, owner: nil)
    static let walletCreditGrants = LedgerAccount(kind: .walletCreditGrants, owner: nil)
    static func buyerWallet(_ buyer: String) -> LedgerAccount { .init(kind: .buyerWallet, owner: buyer) }
    static func walletHeld(_ payment: UUID) -> LedgerAccount { .init(kind: .walletHeld, owner: payment.uuidString.lowercased()) }
}

extension LedgerAccount {
    /// Reads a stored account name (`kind` or `kind:owner`).
    init?(parsing text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard let first = parts.first, let kind = Kind(rawValue: first) else { return nil }
        self.init(kind: kind, owner: parts.count == 2 ? parts[1] : nil)
    }
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

/// The journal transaction for each money movement. The ledger follows the funds: money
/// received at the gateway (`gateway_clearing`, debit) is held per escrow, then ends as platform
/// fees, seller balances (available → in transit → paid out), buyer refunds or losses (credits).
extension Journal {
    /// A payment's orders are held in escrow: `wallet` of it comes from the store credit the
    /// payment held, the rest from the card (at the gateway).
    static func hold(payment: UUID, escrows: [(id: UUID, gross: Int64)], wallet: Int64 = 0, currency: String) -> Journal {
        var journal = Journal(memo: "payment \(payment.uuidString.lowercased()) held in escrow")
        let total = escrows.reduce(0) { $0 + $1.gross }
        if wallet > 0 { journal.debit(.walletHeld(payment), wallet, currency) }
        if total - wallet > 0 { journal.debit(.gatewayClearing, total - wallet, currency) }
        for escrow in escrows { journal.credit(.escrowHeld(escrow.id), escrow.gross, currency) }
        return journal
    }

    /// Store credit set aside for a payment (`wallet.hold_requested`).
    static func walletHold(payment: UUID, buyer: String, amount: Int64, currency: String) -> Journal {
        var journal = Journal(memo: "store credit held for payment \(payment.uuidString.lowercased())")
        journal.debit(.buyerWallet(buyer), amount, currency)
        journal.credit(.walletHeld(payment), amount, currency)
        return journal
    }

    /// The payment failed or was cancelled: its held store credit goes back to the wallet.
    static func walletReturn(payment: UUID, buyer: String, amount: Int64, currency: String) -> Journal {
        var journal = Journal(memo: "store credit returned: payment \(payment.uuidString.lowercased()) did not go through")
        journal.debit(.walletHeld(payment), amount, currency)
        journal.credit(.buyerWallet(buyer), amount, currency)
        return journal
    }

    /// Held funds go to the seller (net, through a transfer) and the platform (fee).
    static func release(escrow: UUID, seller: String, gross: Int64, fee: Int64, currency: String) -> Journal {
        var journal = Journal(memo: "escrow \(escrow.uuidString.lowercased()) released")
        journal.debit(.escrowHeld(escrow), gross, currency)
        if fee > 0 { journal.credit(.platformFees, fee, currency) }
        if gross - fee > 0 { journal.credit(.sellerAvailable(seller), gross - fee, currency) }
        return journal
    }

    /// Money went back to the buyer: from what the escrow holds, and any part it no longer
    /// holds (a refund made at the gateway after release) is the platform's loss.
    /// `toWallet` of it (the part paid with store credit) goes back to the buyer's wallet.
    static func refund(
        escrow: UUID, fromHeld: Int64, uncovered: Int64, toWallet: (buyer: String, amount: Int64)? = nil, currency: String
    ) -> Journal {
        var journal = Journal(memo: "escrow \(escrow.uuidString.lowercased()) refunded to the buyer")
        if fromHeld > 0 { journal.debit(.escrowHeld(escrow), fromHeld, currency) }
        if uncovered > 0 { journal.debit(.refundLosses, uncovered, currency) }
        let wallet = toWallet.map { min(max($0.amount, 0), fromHeld + uncovered) } ?? 0
        if let toWallet, wallet > 0 { journal.credit(.buyerWallet(toWallet.buyer), wallet, currency) }
        if fromHeld + uncovered - wallet > 0 { journal.credit(.buyerRefunds, fromHeld + uncovered - wallet, currency) }
        return journal
    }

    /// A refund after release: `reversed` comes back from the seller through a transfer
    /// reversal, the rest is the platform's loss; the amount is held again until refunded.
    static func rehold(escrow: UUID, seller: String, amount: Int64, reversed: Int64, currency: String) -> Journal {
        var journal = Journal(memo: "escrow \(escrow.uuidString.lowercased()) re-held for a refund after release")
        if reversed > 0 { journal.debit(.sellerAvailable(seller), reversed, currency) }
        if amount - reversed > 0 { journal.debit(.refundLosses, amount - reversed, currency) }
        journal.credit(.escrowHeld(escrow), amount, currency)
        return journal
    }

    /// The card network took a released escrow's gross back: `reversed` comes back from the
    /// seller, the platform loses the rest.
    static func chargebackAfterRelease(escrow: UUID, seller: String, gross: Int64, reversed: Int64, currency: String) -> Journal {
        var journal = Journal(memo: "chargeback on released escrow \(escrow.uuidString.lowercased())")
        if reversed > 0 { journal.debit(.sellerAvailable(seller), reversed, currency) }
        if gross - reversed > 0 { journal.debit(.chargebackLosses, gross - reversed, currency) }
        journal.credit(.gatewayClearing, gross, currency)
        return journal
    }

    /// A chargeback lost on funds still held: they leave the platform.
    static func chargebackLost(escrow: UUID, amount: Int64, currency: String) -> Journal {
        var journal = Journal(memo: "chargeback lost on held escrow \(escrow.uuidString.lowercased())")
        journal.debit(.escrowHeld(escrow), amount, currency)
        journal.credit(.gatewayClearing, amount, currency)
        return journal
    }

    /// A chargeback won after release: the funds return; the seller's reversed part is paid again.
    static func chargebackWonAfterRelease(escrow: UUID, seller: String, gross: Int64, reversed: Int64, currency: String) -> Journal {
        var journal = Journal(memo: "chargeback won on released escrow \(escrow.uuidString.lowercased())")
        journal.debit(.gatewayClearing, gross, currency)
        if reversed > 0 { journal.credit(.sellerAvailable(seller), reversed, currency) }
        if gross - reversed > 0 { journal.credit(.chargebackLosses, gross - reversed, currency) }
        return journal
    }

    static func payoutRequested(_ payout: UUID, seller: String, amount: Int64, currency: String) -> Journal {
        var journal = Journal(memo: "payout \(payout.uuidString.lowercased()) requested")
        journal.debit(.sellerAvailable(seller), amount, currency)
        journal.credit(.sellerInTransit(seller), amount, currency)
        return journal
    }

    static func payoutSettled(_ payout: UUID, seller: String, amount: Int64, currency: String, paid: Bool) -> Journal {
        var journal = Journal(memo: "payout \(payout.uuidString.lowercased()) \(paid ? "paid" : "failed")")
        journal.debit(.sellerInTransit(seller), amount, currency)
        journal.credit(paid ? .sellerPaidOut(seller) : .sellerAvailable(seller), amount, currency)
        return journal
    }
}
