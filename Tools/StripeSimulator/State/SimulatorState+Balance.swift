import EventContracts

/// Balances, derived from the objects (available at once: the simulator has no pending funds).
extension SimulatorState {
    /// Charges, less refunds, transfers (net of reversals) and disputes not won.
    func platformBalance() -> [String: Int64] {
        var balance: [String: Int64] = [:]
        for charge in charges.values where charge.paid { balance[charge.currency, default: 0] += charge.amount }
        for refund in refunds.values where refund.counts { balance[refund.currency, default: 0] -= refund.amount }
        for transfer in transfers.values { balance[transfer.currency, default: 0] -= transfer.net }
        for dispute in disputes.values where dispute.status != "won" { balance[dispute.currency, default: 0] -= dispute.amount }
        return balance
    }

    /// Transfers received (net of reversals), less payouts that have not failed.
    func accountBalance(_ account: String) -> [String: Int64] {
        var balance: [String: Int64] = [:]
        for transfer in transfers.values where transfer.destination == account { balance[transfer.currency, default: 0] += transfer.net }
        for payout in payouts.values where payout.account == account && payout.counts { balance[payout.currency, default: 0] -= payout.amount }
        return balance
    }

    /// Stripe's Balance object for the platform, or for a connected account.
    func balance(account: String?) throws(StripeAPIError) -> JSONValue {
        let amounts: [String: Int64]
        if let account {
            _ = try self.account(account)
            amounts = accountBalance(account)
        } else {
            amounts = platformBalance()
        }
        let currencies = amounts.isEmpty ? ["usd"] : amounts.keys.sorted()
        return [
            "object": "balance", "livemode": false,
            "available": .array(currencies.map { currency in
                let amount = amounts[currency] ?? 0
                return ["amount": .integer(amount), "currency": .string(currency), "source_types": ["card": .integer(amount)]]
            }),
            "pending": .array(currencies.map { ["amount": 0, "currency": .string($0), "source_types": ["card": 0]] }),
        ]
    }
}
