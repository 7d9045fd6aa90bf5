import EventContracts

/// Transfers from the platform to connected accounts, and their reversals.
extension SimulatorState {
    struct NewTransfer: Sendable {
        var amount: Int64
        var currency: String
        var destination: String
        var sourceTransaction: String?
        var transferGroup: String?
        var description: String?
        var metadata: [String: String]
    }

    func createTransfer(_ new: NewTransfer) throws(StripeAPIError) -> JSONValue {
        let destination = try account(new.destination, param: "destination")
        guard destination.transfersActive else {
            throw .invalidRequest(
                "Your destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments",
                code: "insufficient_capabilities_for_transfer", param: "destination")
        }
        if let source = new.sourceTransaction {
            let charge = try charge(source, param: "source_transaction")
            guard charge.paid else {
                throw .invalidRequest("The source_transaction \(source) has not succeeded.", param: "source_transaction")
            }
            guard charge.currency == new.currency else {
                throw .invalidRequest(
                    "The currency of source_transaction's balance transaction (\(charge.currency)) must be the same as the transfer currency (\(new.currency)).",
                    param: "currency")
            }
            let left = available(from: charge)
            guard new.amount <= left else {
                throw .balanceInsufficient(
                    "Insufficient funds in the source transaction \(source): \(Self.money(left, charge.currency)) is left of it, \(Self.money(new.amount, charge.currency)) was requested.")
            }
        } else {
            let balance = platformBalance()[new.currency] ?? 0
            guard new.amount <= balance else {
                throw .balanceInsufficient(
                    "You have insufficient funds in your Stripe account for this transfer. Your card balance is too low. You can use the /v1/balance endpoint to view your Stripe balance (for more details, see stripe.com/docs/api#balance).")
            }
        }
        let transfer = TransferRecord(
            id: Identifiers.make("tr"), amount: new.amount, currency: new.currency, destination: new.destination,
            sourceTransaction: new.sourceTransaction, transferGroup: new.transferGroup, description: new.description,
            metadata: new.metadata, created: Identifiers.now())
        transfers[transfer.id] = transfer
        transferOrder.append(transfer.id)
        emit("transfer.created", transferJSON(transfer))
        return transferJSON(transfer)
    }

    func retrieveTransfer(_ id: String) throws(StripeAPIError) -> JSONValue { transferJSON(try transfer(id)) }

    /// Transfers newest first, optionally of one group or destination, paged like Stripe's lists.
    func listTransfers(
        transferGroup: String?, destination: String?, page: ListPage
    ) throws(StripeAPIError) -> JSONValue {
        let matching = transferOrder.reversed().compactMap { transfers[$0] }.filter {
            (transferGroup == nil || $0.transferGroup == transferGroup) && (destination == nil || $0.destination == destination)
        }
        let (slice, hasMore) = try page.apply(to: matching, id: \.id)
        return stripeList(slice.map(transferJSON), hasMore: hasMore, url: "/v1/transfers")
    }

    /// Takes back `amount` (all that is left when nil) of a transfer from the destination.
    func reverseTransfer(_ id: String, amount: Int64?, description: String?, metadata: [String: String]) throws(StripeAPIError) -> JSONValue {
        var transfer = try transfer(id)
        let left = transfer.net
        guard left > 0 else {
            throw .invalidRequest("Transfer \(id) has already been fully reversed.", code: "transfer_already_reversed" )
        }
        let amount = amount ?? left
        guard amount <= left else {
            throw .invalidRequest(
                "You have attempted to reverse more than the amount of this transfer that is left (\(Self.money(left, transfer.currency))); you requested \(Self.money(amount, transfer.currency)).",
                code: "amount_too_large", param: "amount")
        }
        let reversal = ReversalRecord(
            id: Identifiers.make("trr"), amount: amount, currency: transfer.currency, transfer: id, metadata: metadata,
            created: Identifiers.now())
        reversals[reversal.id] = reversal
        reversalOrder.append(reversal.id)
        transfer.amountReversed += amount
        transfers[id] = transfer
        emit("transfer.reversed", transferJSON(transfer))
        return reversal.json
    }

    func listReversals(of id: String, page: ListPage) throws(StripeAPIError) -> JSONValue {
        _ = try transfer(id)
        let (slice, hasMore) = try page.apply(to: reversals(of: id).reversed(), id: \.id)
        return stripeList(slice.map(\.json), hasMore: hasMore, url: "/v1/transfers/\(id)/reversals")
    }

    func retrieveReversal(_ id: String, of transfer: String) throws(StripeAPIError) -> JSONValue {
        guard let reversal = reversals[id], reversal.transfer == transfer else { throw .noSuch("transfer_reversal", id) }
        return reversal.json
    }

    /// What is left of a charge to transfer: its amount less refunds and transfers (net of reversals) funded by it.
    func available(from charge: ChargeRecord) -> Int64 {
        let transferred = transfers.values.filter { $0.sourceTransaction == charge.id }.reduce(Int64(0)) { $0 + $1.net }
        return charge.amount - charge.amountRefunded - transferred
    }
}
