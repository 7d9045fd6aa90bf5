import EventContracts

/// SetupIntents: a payment method saved for a customer's later payments.
extension SimulatorState {
    struct NewSetupIntent: Sendable {
        var customer: String?
        var paymentMethod: String?
        var paymentMethodTypes: [String]
        var usage: String
        var description: String?
        var metadata: [String: String]
    }

    func createSetupIntent(_ new: NewSetupIntent) throws(StripeAPIError) -> JSONValue {
        if let customer = new.customer { _ = try self.customer(customer, param: "customer") }
        if let method = new.paymentMethod, paymentMethods[method] == nil, TestPaymentMethods.outcome(of: method) == nil {
            throw .noSuch("PaymentMethod", method, param: "payment_method")
        }
        let id = Identifiers.make("seti")
        let intent = SetupIntentRecord(
            id: id, clientSecret: "\(id)_secret_\(Identifiers.make("s", length: 32).dropFirst(2))", customer: new.customer,
            paymentMethod: new.paymentMethod, paymentMethodTypes: new.paymentMethodTypes, usage: new.usage,
            status: new.paymentMethod == nil ? "requires_payment_method" : "requires_confirmation", description: new.description,
            metadata: new.metadata, created: Identifiers.now())
        setupIntents[id] = intent
        emit("setup_intent.created", intent.json)
        return intent.json
    }

    func retrieveSetupIntent(_ id: String) throws(StripeAPIError) -> JSONValue { try setupIntent(id).json }

    /// Confirms with the given (or attached) payment method: with a customer, the card is saved
    /// for it (`payment_method.attached`); a card that declines fails the setup with a 402.
    func confirmSetupIntent(_ id: String, paymentMethod: String?) throws(StripeAPIError) -> JSONValue {
        var intent = try setupIntent(id)
        guard ["requires_payment_method", "requires_confirmation", "requires_action"].contains(intent.status) else {
            throw .invalidRequest(
                "You cannot confirm this SetupIntent because it has a status of \(intent.status).", code: "setup_intent_unexpected_state")
        }
        guard let method = paymentMethod ?? intent.paymentMethod else {
            throw .invalidRequest(
                "You cannot confirm this SetupIntent because it's missing a payment method. Update the SetupIntent with a payment method and then confirm it again.",
                code: "setup_intent_unexpected_state")
        }
        do throws(StripeAPIError) {
            let saved: PaymentMethodRecord
            if let customer = intent.customer {
                saved = try save(method, for: customer, param: "payment_method")
            } else {
                saved = try unattachedCopy(of: method)
            }
            intent.paymentMethod = saved.id
            intent.status = "succeeded"
            intent.lastSetupError = nil
            setupIntents[id] = intent
            emit("setup_intent.succeeded", intent.json)
            return intent.json
        } catch where error.type == "card_error" {
            intent.status = "requires_payment_method"
            intent.paymentMethod = nil
            intent.lastSetupError = [
                "type": "card_error", "code": error.code.json, "decline_code": error.declineCode.json, "message": .string(error.message),
            ]
            setupIntents[id] = intent
            emit("setup_intent.setup_failed", intent.json)
            var failed = error
            failed.extra = ["setup_intent": intent.json]
            throw failed
        }
    }

    /// A SetupIntent without a customer still checks the card; its copy stays unattached.
    private func unattachedCopy(of method: String) throws(StripeAPIError) -> PaymentMethodRecord {
        if let stored = paymentMethods[method] { return stored }
        guard let outcome = TestPaymentMethods.outcome(of: method) else { throw .noSuch("PaymentMethod", method, param: "payment_method") }
        if !TestPaymentMethods.canBeSaved(method), case .declined(let code, let declineCode, let message) = outcome {
            throw .cardError(code: code, declineCode: declineCode, message: message)
        }
        let record = PaymentMethodRecord.copy(of: method)
        paymentMethods[record.id] = record
        paymentMethodOrder.append(record.id)
        return record
    }

    func setupIntent(_ id: String) throws(StripeAPIError) -> SetupIntentRecord {
        guard let intent = setupIntents[id] else { throw .noSuch("setup_intent", id) }
        return intent
    }
}
