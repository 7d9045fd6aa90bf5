import EventContracts

/// Refunds of charges and their late failures.
extension SimulatorState {
    /// Refunds `amount` (all that is left when nil) of a charge, named directly or through its intent.
    func createRefund(
        charge chargeId: String?, paymentIntent intentId: String?, amount: Int64?, reason: String?, metadata: [String: String]
    ) throws(StripeAPIError) -> JSONValue {
        let chargeId = try refundedCharge(charge: chargeId, paymentIntent: intentId)
        var charge = try charge(chargeId, param: intentId == nil ? "charge" : "payment_intent")
        guard charge.paid else {
            throw .invalidRequest("Charge \(charge.id) has not succeeded and cannot be refunded.", code: "charge_not_refundable")
        }
        if disputes.values.contains(where: { $0.charge == charge.id && $0.isOpen }) {
            throw .invalidRequest("Charge \(charge.id) has been charged back; cannot issue a refund.", code: "charge_disputed")
        }
        let refundable = charge.amount - charge.amountRefunded
        guard refundable > 0 else {
            throw .invalidRequest("Charge \(charge.id) has already been refunded.", code: "charge_already_refunded")
        }
        let amount = amount ?? refundable
        guard amount <= refundable else {
            throw .invalidRequest(
                "Refund amount (\(Self.money(amount, charge.currency))) is greater than unrefunded amount on charge (\(Self.money(refundable, charge.currency)))",
                code: "amount_too_large", param: "amount")
        }
        let refund = RefundRecord(
            id: Identifiers.make("re"), amount: amount, currency: charge.currency, charge: charge.id, paymentIntent: charge.paymentIntent,
            status: "succeeded", reason: reason, metadata: metadata, created: Identifiers.now())
        refunds[refund.id] = refund
        charge.amountRefunded += amount
        charges[charge.id] = charge
        emit("refund.created", refund.json)
        emit("charge.refunded", charge.json)
        if chargesWithFailingRefunds.contains(charge.id) {
            timers.add(.failRefund(refund.id, reason: "declined"), after: FaultDocument.defaultLateFailureDelay)
        } else if let delay = faults.lateFailure(.refund) {
            timers.add(.failRefund(refund.id, reason: "expired_or_canceled_card"), after: delay)
        }
        return refund.json
    }

    func retrieveRefund(_ id: String) throws(StripeAPIError) -> JSONValue {
        guard let refund = refunds[id] else { throw .noSuch("refund", id) }
        return refund.json
    }

    /// A refund that succeeded fails afterwards (the card was closed, say): the money goes back
    /// to the platform and `refund.updated` (then `refund.failed`) says so.
    func failRefund(_ id: String, reason: String) throws(StripeAPIError) -> JSONValue {
        guard var refund = refunds[id] else { throw .noSuch("refund", id) }
        guard refund.status == "succeeded" || refund.status == "pending" else {
            throw .invalidRequest("Refund \(id) has status \(refund.status) and cannot fail.")
        }
        refund.status = "failed"
        refund.failureReason = reason
        refunds[id] = refund
        if var charge = charges[refund.charge] {
            charge.amountRefunded -= refund.amount
            charges[charge.id] = charge
        }
        emit("refund.updated", refund.json)
        emit("refund.failed", refund.json)
        return refund.json
    }

    private func refundedCharge(charge: String?, paymentIntent: String?) throws(StripeAPIError) -> String {
        switch (charge, paymentIntent) {
        case (let charge?, nil): return charge
        case (nil, let intentId?):
            guard let intent = paymentIntents[intentId] else { throw .noSuch("payment_intent", intentId, param: "payment_intent") }
            guard intent.status == "succeeded", let charge = intent.latestCharge else {
                throw .invalidRequest(
                    "This PaymentIntent (\(intentId)) does not have a successful charge to refund.", code: "charge_not_refundable",
                    param: "payment_intent")
            }
            return charge
        case (_?, _?):
            throw .invalidParameter("charge", "You may only specify one of these parameters: charge, payment_intent.", code: nil)
        case (nil, nil):
            var error = StripeAPIError.invalidRequest("One of the following params should be provided for this request: payment_intent or charge.")
            error.beforeExecution = true
            throw error
        }
    }

    /// `$12.34`-style amounts as Stripe writes them in messages (two-decimal currencies).
    static func money(_ amount: Int64, _ currency: String) -> String {
        let sign = amount < 0 ? "-" : ""
        let units = abs(amount)
        let cents = units % 100
        return "\(sign)\(currency == "usd" ? "$" : currency.uppercased() + " ")\(units / 100).\(cents < 10 ? "0" : "")\(cents)"
    }
}
