import EventContracts

/// PaymentIntents and their charges on the platform account.
extension SimulatorState {
    struct NewIntent: Sendable {
        var amount: Int64
        var currency: String
        var paymentMethodTypes: [String]
        var paymentMethod: String?
        var customer: String?
        var description: String?
        var metadata: [String: String]
        var transferGroup: String?
    }

    func createPaymentIntent(_ new: NewIntent) throws(StripeAPIError) -> JSONValue {
        if let customer = new.customer { _ = try self.customer(customer, param: "customer") }
        if let method = new.paymentMethod { try usablePaymentMethod(method, customer: new.customer) }
        let id = Identifiers.make("pi")
        let intent = PaymentIntentRecord(
            id: id, amount: new.amount, currency: new.currency,
            status: new.paymentMethod == nil ? "requires_payment_method" : "requires_confirmation",
            clientSecret: "\(id)_secret_\(Identifiers.make("s", length: 25).dropFirst(2))", paymentMethodTypes: new.paymentMethodTypes,
            paymentMethod: new.paymentMethod, customer: new.customer, description: new.description, metadata: new.metadata,
            transferGroup: new.transferGroup, created: Identifiers.now())
        paymentIntents[id] = intent
        emit("payment_intent.created", intent.json)
        return intent.json
    }

    /// Attaches a payment method or changes metadata (merged; an empty value removes a key).
    func updatePaymentIntent(
        _ id: String, paymentMethod: String?, customer: String? = nil, amount: Int64?, description: String?, metadata: [String: String]?,
        transferGroup: String?
    ) throws(StripeAPIError) -> JSONValue {
        var intent = try intent(id)
        let changesPayment = paymentMethod != nil || amount != nil || customer != nil
        if changesPayment, !["requires_payment_method", "requires_confirmation", "requires_action"].contains(intent.status) {
            throw .unexpectedState(
                "This PaymentIntent's payment_method could not be updated because it has a status of \(intent.status). You may only update the payment_method of a PaymentIntent with one of the following statuses: requires_payment_method, requires_confirmation, requires_action.")
        }
        if let customer {
            intent.customer = try self.customer(customer, param: "customer").id
        }
        if let paymentMethod {
            try usablePaymentMethod(paymentMethod, customer: intent.customer)
            intent.paymentMethod = paymentMethod
            intent.status = "requires_confirmation"
        }
        if let amount { intent.amount = amount }
        if let description { intent.description = description }
        if let transferGroup { intent.transferGroup = transferGroup }
        if let metadata { intent.metadata = Self.merge(intent.metadata, metadata) }
        paymentIntents[id] = intent
        return intent.json
    }

    /// Confirms with the attached (or given) test payment method: a charge that succeeds, or a
    /// decline, thrown as Stripe's 402 `card_error` after the intent and events are recorded.
    func confirmPaymentIntent(_ id: String, paymentMethod: String?) throws(StripeAPIError) -> JSONValue {
        var intent = try intent(id)
        guard ["requires_payment_method", "requires_confirmation", "requires_action"].contains(intent.status) else {
            throw .unexpectedState(
                "This PaymentIntent's status is \(intent.status), but it must be one of requires_payment_method, requires_confirmation, or requires_action to be confirmed.")
        }
        guard let method = paymentMethod ?? intent.paymentMethod else {
            throw .invalidRequest(
                "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.",
                code: "payment_intent_unexpected_state")
        }
        let outcome = try usablePaymentMethod(method, customer: intent.customer)
        intent.paymentMethod = method
        var charge = ChargeRecord(
            id: Identifiers.make("ch"), amount: intent.amount, currency: intent.currency, status: "succeeded", paymentIntent: id,
            paymentMethod: method, customer: intent.customer, transferGroup: intent.transferGroup, metadata: intent.metadata,
            created: Identifiers.now())
        intent.latestCharge = charge.id
        if case .declined(let code, let declineCode, let message) = outcome {
            charge.status = "failed"
            charge.failureCode = code
            charge.failureMessage = message
            intent.status = "requires_payment_method"
            let error: JSONValue = [
                "type": "card_error", "code": .string(code), "decline_code": .string(declineCode), "message": .string(message),
                "charge": .string(charge.id), "doc_url": .string("https://stripe.com/docs/error-codes/\(code.replacingOccurrences(of: "_", with: "-"))"),
                "payment_method": ["id": .string(method), "object": "payment_method", "type": "card"],
            ]
            intent.lastPaymentError = error
            charges[charge.id] = charge
            paymentIntents[id] = intent
            emit("charge.failed", charge.json)
            emit("payment_intent.payment_failed", intent.json)
            var decline = StripeAPIError.cardError(code: code, declineCode: declineCode, message: message)
            decline.extra = ["charge": .string(charge.id), "payment_intent": intent.json]
            throw decline
        }
        intent.status = "succeeded"
        intent.lastPaymentError = nil
        charges[charge.id] = charge
        paymentIntents[id] = intent
        emit("charge.succeeded", charge.json)
        emit("payment_intent.succeeded", intent.json)
        switch outcome {
        case .succeedsThenDisputed: _ = try openDispute(charge: charge.id, amount: nil, reason: "fraudulent")
        case .succeedsRefundsFail: chargesWithFailingRefunds.insert(charge.id)
        case .succeeds, .declined: break
        }
        return intent.json
    }

    /// Cancels an intent that has not succeeded (`payment_intent.canceled`).
    func cancelPaymentIntent(_ id: String, reason: String?) throws(StripeAPIError) -> JSONValue {
        var intent = try intent(id)
        guard intent.status != "succeeded" && intent.status != "canceled" else {
            throw .unexpectedState(
                "You cannot cancel this PaymentIntent because it has a status of \(intent.status). Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.")
        }
        intent.status = "canceled"
        intent.cancellationReason = reason
        intent.canceledAt = Identifiers.now()
        paymentIntents[id] = intent
        emit("payment_intent.canceled", intent.json)
        return intent.json
    }

    func retrievePaymentIntent(_ id: String) throws(StripeAPIError) -> JSONValue { try intent(id).json }

    func retrieveCharge(_ id: String) throws(StripeAPIError) -> JSONValue { try charge(id).json }

    /// Stripe's metadata update: keys are merged, an empty value deletes its key.
    static func merge(_ current: [String: String], _ update: [String: String]) -> [String: String] {
        guard !update.isEmpty else { return [:] }
        var merged = current
        for (key, value) in update { merged[key] = value.isEmpty ? nil : value }
        return merged
    }
}
