import HTTPSupport
import StripeClient

/// Saving, listing, removing and choosing a buyer's cards. Stripe holds the cards: every
/// answer is read from it, so nothing here can drift from what Stripe would charge. Only the
/// owner's customer may see or use a card; for anyone else it does not exist.
struct SavedCards: Sendable {
    let customers: BuyerCustomers
    let gateway: any PaymentGateway

    /// A SetupIntent for the buyer's customer. With `paymentMethod` (a PaymentMethod the client
    /// made at Stripe, or a test one such as `pm_card_visa`) it is confirmed at once and the card
    /// saved; without, the client confirms it with Stripe.js and the card never reaches us.
    func save(_ buyer: AuthenticatedUser, paymentMethod: String?, requestId: String) async throws -> CardSetup {
        if let paymentMethod, !SavedCard.isPaymentMethodId(paymentMethod) {
            throw SavedCardError.invalid("paymentMethod must be a Stripe PaymentMethod id (pm_…).")
        }
        let customer = try await customers.ensure(buyer, correlationId: requestId)
        let key = "setup-\(customer)-\(requestId)"
        let setup = try await gateway.createSetupIntent(customer: customer, buyerId: buyer.id, idempotencyKey: key)
        guard let paymentMethod else {
            return CardSetup(setupIntentId: setup.id, clientSecret: setup.client_secret, status: setup.status, paymentMethod: nil)
        }
        let confirmed = try await gateway.confirmSetupIntent(setup.id, paymentMethod: paymentMethod, idempotencyKey: "\(key)-confirm")
        guard confirmed.status == "succeeded", let savedId = confirmed.payment_method?.id else {
            // e.g. requires_action (3-D Secure): the client finishes it with the client secret.
            return CardSetup(setupIntentId: confirmed.id, clientSecret: confirmed.client_secret, status: confirmed.status, paymentMethod: nil)
        }
        var method = try await gateway.paymentMethod(savedId)
        // Stripe attaches on confirmation; localstripe does not, so attach what is still loose.
        if method.customer == nil {
            method = try await gateway.attach(paymentMethod: savedId, customer: customer, idempotencyKey: "\(key)-attach")
        }
        guard method.customer?.id == customer, let card = SavedCard(method, defaultId: nil) else {
            throw SavedCardError.invalid("That payment method cannot be saved.")
        }
        return CardSetup(setupIntentId: confirmed.id, clientSecret: confirmed.client_secret, status: confirmed.status, paymentMethod: card)
    }

    func list(_ buyer: AuthenticatedUser) async throws -> [SavedCard] {
        guard let customer = try await customers.existing(buyer.id) else { return [] }
        async let methods = gateway.paymentMethods(customer: customer)
        let defaultId = try await gateway.customer(customer).defaultPaymentMethod
        return try await methods.compactMap { SavedCard($0, defaultId: defaultId) }
    }

    /// Detaches the card for good (Stripe never lets a detached card be used again).
    func remove(_ buyer: AuthenticatedUser, id: String) async throws {
        _ = try await owned(id, by: buyer)
        _ = try await gateway.detach(paymentMethod: id, idempotencyKey: "detach-\(id)")
    }

    func makeDefault(_ buyer: AuthenticatedUser, id: String, requestId: String) async throws -> SavedCard {
        let (method, customer) = try await owned(id, by: buyer)
        let updated = try await gateway.setDefault(paymentMethod: id, customer: customer, idempotencyKey: "default-\(customer)-\(requestId)")
        guard let card = SavedCard(method, defaultId: updated.defaultPaymentMethod) else { throw SavedCardError.notFound(id) }
        return card
    }

    /// The customer to put on a PaymentIntent paid with `paymentMethod`: the buyer's, when it is
    /// one of the buyer's saved cards; nil for a card used once. Another buyer's card is not found.
    func payer(of paymentMethod: String, buyer: AuthenticatedUser) async throws -> String? {
        // Anything else is no saved card of ours: Stripe answers for it as before.
        guard SavedCard.isPaymentMethodId(paymentMethod) else { return nil }
        guard let owner = try await gateway.paymentMethod(paymentMethod).customer?.id else { return nil }
        guard owner == (try await customers.existing(buyer.id)) else { throw SavedCardError.notFound(paymentMethod) }
        return owner
    }

    /// The buyer's saved card `id` and the buyer's customer, or not found.
    private func owned(_ id: String, by buyer: AuthenticatedUser) async throws -> (PaymentMethod, String) {
        guard SavedCard.isPaymentMethodId(id), let customer = try await customers.existing(buyer.id) else {
            throw SavedCardError.notFound(id)
        }
        let method: PaymentMethod
        do {
            method = try await gateway.paymentMethod(id)
        } catch where error.code == "resource_missing" {
            throw SavedCardError.notFound(id)
        }
        guard method.customer?.id == customer else { throw SavedCardError.notFound(id) }
        return (method, customer)
    }
}
