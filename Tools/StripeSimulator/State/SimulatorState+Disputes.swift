import EventContracts

/// Card disputes (chargebacks), opened and decided through the control API or `pm_card_createDispute`.
extension SimulatorState {
    /// Opens a dispute on a charge (`charge.dispute.created`); the amount leaves the platform's balance.
    func openDispute(charge chargeId: String, amount: Int64?, reason: String) throws(StripeAPIError) -> JSONValue {
        var charge = try charge(chargeId, param: "charge")
        guard charge.paid else { throw .invalidRequest("Charge \(chargeId) did not succeed and cannot be disputed.", param: "charge") }
        let amount = amount ?? charge.amount
        guard amount > 0, amount <= charge.amount else {
            throw .invalidRequest("A dispute amount must be between 1 and the charge's \(charge.amount).", param: "amount")
        }
        let dispute = DisputeRecord(
            id: Identifiers.make("du"), amount: amount, currency: charge.currency, charge: charge.id, paymentIntent: charge.paymentIntent,
            reason: reason, status: "needs_response", created: Identifiers.now())
        disputes[dispute.id] = dispute
        charge.disputed = true
        charges[charge.id] = charge
        emit("charge.dispute.created", dispute.json)
        return dispute.json
    }

    /// Decides a dispute (`charge.dispute.closed`): won gives the money back, lost keeps it withdrawn.
    func closeDispute(_ id: String, status: String) throws(StripeAPIError) -> JSONValue {
        guard var dispute = disputes[id] else { throw .noSuch("dispute", id) }
        guard dispute.isOpen else { throw .invalidRequest("Dispute \(id) is already closed (\(dispute.status)).") }
        dispute.status = status
        disputes[id] = dispute
        emit("charge.dispute.closed", dispute.json)
        return dispute.json
    }
}
