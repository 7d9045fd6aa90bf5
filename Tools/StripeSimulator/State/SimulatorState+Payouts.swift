import EventContracts

/// Payouts from connected accounts to their banks, settled a moment after they are made.
extension SimulatorState {
    func createPayout(
        account id: String, amount: Int64, currency: String, description: String?, metadata: [String: String]
    ) throws(StripeAPIError) -> JSONValue {
        let account = try account(id)
        guard account.payoutsEnabled else {
            throw .invalidRequest(
                "Payouts are not enabled on this account: it has requirements that are due (\(account.currentlyDue.joined(separator: ", "))).",
                code: "payouts_not_allowed")
        }
        let available = accountBalance(id)[currency] ?? 0
        guard amount <= available else {
            throw .balanceInsufficient(
                "You have insufficient funds in your Stripe account for this payout: \(Self.money(available, currency)) is available, \(Self.money(amount, currency)) was requested. You can use the /v1/balance endpoint to view your Stripe balance (for more details, see stripe.com/docs/api#balance).")
        }
        let payout = PayoutRecord(
            id: Identifiers.make("po"), account: id, amount: amount, currency: currency, status: "pending", description: description,
            metadata: metadata, created: Identifiers.now())
        payouts[payout.id] = payout
        emit("payout.created", payout.json, account: id)
        timers.add(.settlePayout(payout.id), after: payoutDelay)
        return payout.json
    }

    /// A payout is visible only on its own account, as with Stripe-Account on Stripe.
    func retrievePayout(_ id: String, account: String) throws(StripeAPIError) -> JSONValue {
        guard let payout = payouts[id], payout.account == account else { throw .noSuch("payout", id) }
        return payout.json
    }

    /// The bank answers: paid, or failed with `account_closed` for the failing test bank.
    func settlePayout(_ id: String) {
        guard var payout = payouts[id], payout.status == "pending" else { return }
        let failing = accounts[payout.account]?.failingBank ?? false
        payout.status = failing ? "failed" : "paid"
        payout.failureCode = failing ? "account_closed" : nil
        payouts[id] = payout
        emit("payout.\(payout.status)", payout.json, account: payout.account)
        if !failing, let delay = faults.lateFailure(.payout) {
            timers.add(.returnPayout(id, failureCode: "account_closed"), after: delay)
        }
    }

    /// The payout fails, even after it was paid (the bank returned it): the money is back on the account.
    func failPayout(_ id: String, failureCode: String) throws(StripeAPIError) -> JSONValue {
        guard var payout = payouts[id] else { throw .noSuch("payout", id) }
        guard payout.status == "pending" || payout.status == "in_transit" || payout.status == "paid" else {
            throw .invalidRequest("Payout \(id) has status \(payout.status) and cannot fail.")
        }
        payout.status = "failed"
        payout.failureCode = failureCode
        payouts[id] = payout
        emit("payout.failed", payout.json, account: payout.account)
        return payout.json
    }
}
