import EventContracts

/// Customers on the platform account and the card PaymentMethods saved for them.
extension SimulatorState {
    func createCustomer(email: String?, name: String?, description: String?, metadata: [String: String]) -> JSONValue {
        let customer = CustomerRecord(
            id: Identifiers.make("cus", length: 14), email: email, name: name, description: description, metadata: metadata,
            created: Identifiers.now())
        customers[customer.id] = customer
        emit("customer.created", customer.json)
        return customer.json
    }

    func retrieveCustomer(_ id: String) throws(StripeAPIError) -> JSONValue { try customer(id).json }

    /// Changes the given fields; `defaultPaymentMethod` "" clears the default, and a payment
    /// method must be attached to this customer to become its default.
    func updateCustomer(
        _ id: String, email: String?, name: String?, description: String?, metadata: [String: String]?, defaultPaymentMethod: String?
    ) throws(StripeAPIError) -> JSONValue {
        var customer = try customer(id)
        if let defaultPaymentMethod {
            if defaultPaymentMethod.isEmpty {
                customer.defaultPaymentMethod = nil
            } else {
                guard paymentMethods[defaultPaymentMethod]?.customer == id else {
                    throw .invalidRequest(
                        "The customer does not have a payment method with the ID \(defaultPaymentMethod). The payment method must be attached to the customer.",
                        param: "invoice_settings[default_payment_method]")
                }
                customer.defaultPaymentMethod = defaultPaymentMethod
            }
        }
        if let email { customer.email = email }
        if let name { customer.name = name }
        if let description { customer.description = description }
        if let metadata { customer.metadata = Self.merge(customer.metadata, metadata) }
        customers[id] = customer
        emit("customer.updated", customer.json)
        return customer.json
    }

    func retrievePaymentMethod(_ id: String) throws(StripeAPIError) -> JSONValue {
        if let stored = paymentMethods[id] { return stored.json }
        guard TestPaymentMethods.outcome(of: id) != nil else { throw .noSuch("PaymentMethod", id) }
        return PaymentMethodRecord.test(id).json
    }

    func attachPaymentMethod(_ id: String, customer: String) throws(StripeAPIError) -> JSONValue {
        try save(id, for: customer, param: "id").json
    }

    /// Saves a payment method for a customer: a test payment method becomes a new `pm_…` attached
    /// to it. Cards that decline are refused (402), as Stripe's check with the issuer refuses them.
    func save(_ method: String, for customerId: String, param: String) throws(StripeAPIError) -> PaymentMethodRecord {
        _ = try customer(customerId, param: "customer")
        var record: PaymentMethodRecord
        if let stored = paymentMethods[method] {
            guard !stored.detached else { throw Self.detachedMethod(param: param) }
            if let owner = stored.customer {
                guard owner == customerId else {
                    throw .invalidRequest("The payment method you provided has already been attached to a customer.", param: param)
                }
                return stored
            }
            record = stored
        } else {
            guard TestPaymentMethods.outcome(of: method) != nil else { throw .noSuch("PaymentMethod", method, param: param) }
            record = PaymentMethodRecord.copy(of: method)
            paymentMethodOrder.append(record.id)
        }
        if !TestPaymentMethods.canBeSaved(record.testMethod),
           case .declined(let code, let declineCode, let message)? = TestPaymentMethods.outcome(of: record.testMethod) {
            // The declined copy stays, unattached, as Stripe keeps it.
            paymentMethods[record.id] = record
            throw .cardError(code: code, declineCode: declineCode, message: message)
        }
        record.customer = customerId
        paymentMethods[record.id] = record
        emit("payment_method.attached", record.json)
        return record
    }

    /// Detaches for good; a customer's default that goes is no longer its default.
    func detachPaymentMethod(_ id: String) throws(StripeAPIError) -> JSONValue {
        guard var record = paymentMethods[id] else {
            guard TestPaymentMethods.outcome(of: id) != nil else { throw .noSuch("PaymentMethod", id) }
            throw Self.notAttached
        }
        guard let owner = record.customer else { throw Self.notAttached }
        record.customer = nil
        record.detached = true
        paymentMethods[id] = record
        if var customer = customers[owner], customer.defaultPaymentMethod == id {
            customer.defaultPaymentMethod = nil
            customers[owner] = customer
            emit("customer.updated", customer.json)
        }
        emit("payment_method.detached", record.json)
        return record.json
    }

    /// A customer's payment methods, newest first.
    func listPaymentMethods(customer customerId: String, type: String?, page: ListPage) throws(StripeAPIError) -> JSONValue {
        _ = try customer(customerId, param: "customer")
        let matching = paymentMethodOrder.reversed().compactMap { paymentMethods[$0] }.filter {
            $0.customer == customerId && (type == nil || type == "card")
        }
        let (slice, hasMore) = try page.apply(to: matching, id: \.id)
        return stripeList(slice.map(\.json), hasMore: hasMore, url: "/v1/payment_methods")
    }

    /// What charging `method` does for an intent of `customer`: a method attached to another
    /// customer (or to one while the intent names none) cannot be used, nor a detached one.
    @discardableResult
    func usablePaymentMethod(_ method: String, customer: String?) throws(StripeAPIError) -> TestPaymentMethods.Outcome {
        if let stored = paymentMethods[method] {
            guard !stored.detached else { throw Self.detachedMethod(param: "payment_method") }
            if let owner = stored.customer, owner != customer {
                throw .invalidRequest(
                    customer == nil
                        ? "The provided PaymentMethod is attached to a Customer; pass that Customer as `customer` to use it with this PaymentIntent."
                        : "The provided PaymentMethod is attached to another Customer than this PaymentIntent's and cannot be used with it.",
                    param: "payment_method")
            }
            return TestPaymentMethods.outcome(of: stored.testMethod) ?? .succeeds
        }
        guard let outcome = TestPaymentMethods.outcome(of: method) else { throw .noSuch("PaymentMethod", method, param: "payment_method") }
        return outcome
    }

    static func detachedMethod(param: String) -> StripeAPIError {
        .invalidRequest(
            "The provided PaymentMethod was previously used with a PaymentIntent without Customer attachment, shared with a connected account without Customer attachment, or was detached from a Customer. It may not be used again. To use a PaymentMethod multiple times, you must attach it to a Customer first.",
            param: param)
    }

    static let notAttached = StripeAPIError.invalidRequest(
        "The payment method you provided is not attached to a customer so detachment is impossible.")
}
