import EventContracts
import Foundation
import GatewayCommands
import HTTPSupport
import Hummingbird
import Messaging
import Persistence
import PostgresNIO
import StripeClient

/// `/api/v1/payments`: the buyer's PaymentIntent for a checkout, server-side confirmation (with a
/// card used once or a saved one), and payment history. Outcomes are never taken from these calls: they come from the webhook.
struct PaymentsController: Sendable {
    let store: PaymentStore
    let postgres: PostgresClient
    let gateway: any PaymentGateway
    let commands: GatewayCommandRunner
    /// Tells a saved card (paid for with the buyer's customer) from one used once.
    let cards: SavedCards
    /// Announces new payments: create-intent right after a checkout waits for its payment.
    let arrivals: ArrivalListener
    /// How long create-intent waits for a payment that has not arrived (CREATE_INTENT_WAIT_MS).
    let arrivalWait: Duration
    /// wallet.enabled and wallet.spendFirst decide whether create-intent spends store credit.
    let flags: FeatureFlagStore
    let logger: Logger

    struct CreateIntent: Decodable {
        var orderId: UUID?
        var checkoutId: UUID?
        /// Spend store credit first (default: the wallet.spendFirst flag). The first
        /// create-intent of a payment decides; later ones return what it made.
        var useWallet: Bool?
    }

    struct IntentResponse: Encodable, ResponseEncodable {
        var paymentId: UUID
        /// None when store credit paid the whole amount: there is nothing to confirm.
        var intentId: String?
        var clientSecret: String?
        var amount: Int64
        var currency: String
        var status: String
        /// Paid with store credit; the card is charged the rest (`cardAmount`).
        var walletAmount: Int64
        var cardAmount: Int64
    }

    enum CreateIntentDecision: Sendable {
        case existing(IntentResponse)
        /// A command recorded by an earlier request, still pending.
        case command(UUID)
        /// A command recorded just now, claimed by this request.
        case claimed(GatewayCommandRunner.Claim)
        /// EscrowService has not said yet how much of the wallet it holds.
        case awaitWallet(UUID)
    }

    struct Confirm: Decodable {
        var paymentId: UUID
        var paymentMethod: String
    }

    struct ConfirmResponse: Encodable, ResponseEncodable {
        var paymentId: UUID
        /// The intent's status as Stripe reported it; the payment's outcome arrives by webhook.
        var intentStatus: String
        var paymentStatus: String
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("payments/create-intent") { request, context in try await createIntent(request, context) }
        group.post("payments/confirm") { request, context in try await confirm(request, context) }
        group.get("payments") { request, context in try await list(request, context) }
        group.get("payments/{id}") { _, context in try await show(context) }
    }

    /// Creates the one PaymentIntent of the checkout, or returns it again. The decision is a
    /// gateway command committed with the payment locked; Stripe is called after the commit (by
    /// this request, or by the command worker if it cannot), never with a transaction open.
    func createIntent(_ request: Request, _ context: AppRequestContext) async throws -> IntentResponse {
        let buyer = try context.requireRole(.buyer)
        let body = try await request.decode(as: CreateIntent.self, context: context)
        guard (body.orderId == nil) != (body.checkoutId == nil) else {
            throw Problem.validation("Send exactly one of orderId or checkoutId.")
        }
        // Store credit first when the buyer asks, or by default when wallet.spendFirst is on.
        var spendWallet: Bool
        if let useWallet = body.useWallet { spendWallet = useWallet } else { spendWallet = try await flags.isEnabled(.walletSpendFirst) }
        if spendWallet, try await !flags.isEnabled(.wallet) {
            if body.useWallet == true { throw Problem.conflict(FeatureFlag.wallet.offMessage) }
            spendWallet = false
        }
        // The payment is created from the checkout's event, usually milliseconds after the checkout:
        // a request that comes first waits for it (bounded) rather than making every client poll.
        let key = (body.checkoutId ?? body.orderId)?.uuidString.lowercased() ?? ""
        let paymentId = try await arrivals.wait(for: [key], timeout: arrivalWait) {
            try await postgres.withConnection { try await store.paymentId(orderId: body.orderId, checkoutId: body.checkoutId, on: $0) }
        }
        guard let paymentId else { throw Self.noPayment(for: body.checkoutId ?? body.orderId) }
        var decision = try await decide(paymentId, buyer: buyer.id, spendWallet: spendWallet, context)
        if case .awaitWallet = decision {
            // EscrowService answers through the broker, usually within a few hundred milliseconds.
            let held = try await arrivals.wait(for: [PaymentStore.walletKey(paymentId)], timeout: arrivalWait) {
                try await postgres.withConnection { try await store.find(id: paymentId, on: $0)?.walletAmount }
            }
            guard held != nil else { throw Self.walletPending }
            decision = try await decide(paymentId, buyer: buyer.id, spendWallet: spendWallet, context)
        }
        let outcome: GatewayCommand?
        switch decision {
        case .existing(let response):
            return response
        case .awaitWallet:
            throw Self.walletPending
        case .claimed(let claim):
            outcome = try await commands.runAndWait(claim, postgres: postgres)
        case .command(let commandId):
            outcome = try await commands.runAndWait(commandId, postgres: postgres)
        }
        guard let command = outcome else { throw Self.unavailable }
        switch command.status {
        case .succeeded:
            let response = try await postgres.withConnection { connection -> IntentResponse? in
                guard let found = try await store.findWithClientSecret(id: paymentId, on: connection) else { return nil }
                return try await existing(found.payment, knownClientSecret: found.clientSecret, on: connection)
            }
            guard let response else { throw Self.unavailable }
            return response
        case .refused:
            context.logger.warning("the gateway refused to create the intent", metadata: ["command_id": "\(command.id)"])
            throw Problem(
                status: .badGateway, type: "/problems/gateway", title: "Payment provider refused",
                detail: "The payment provider refused to start this payment; try again or contact support.")
        case .pending:
            throw Self.unavailable
        }
    }

    /// With the payment locked: what it already has, or the next step towards an intent (asking
    /// for store credit first, or recording the intent's gateway command for the card's part).
    /// A payment store credit covers whole succeeds here, with no card.
    private func decide(
        _ paymentId: UUID, buyer: String, spendWallet: Bool, _ context: AppRequestContext
    ) async throws -> CreateIntentDecision {
        try await postgres.inTransaction(logger: context.logger) { connection -> CreateIntentDecision in
            guard let (payment, session) = try await store.lockWithCheckoutSession(id: paymentId, on: connection), payment.buyerId == buyer
            else { throw Problem.notFound("No payment for that order or checkout.") }
            if let response = try await existing(payment, on: connection) { return .existing(response) }
            // Two ways to pay one payment would be two charges: an open Checkout Session excludes this one.
            if let session, session.expiresAt > Date() {
                throw Problem.conflict("This payment is being paid on Stripe Checkout (session \(session.id)); continue there.", extensions: ["currentState": payment.status.rawValue])
            }
            guard payment.status.isPayable else {
                throw Problem.conflict("This payment is \(payment.status.rawValue).", extensions: ["currentState": payment.status.rawValue])
            }
            if payment.walletRequested {
                guard let wallet = payment.walletAmount else { return .awaitWallet(payment.id) }
                if wallet == payment.amount {
                    try await store.move(
                        payment, to: .succeeded, detail: "paid with \(wallet) \(payment.currency) of store credit",
                        correlationId: context.requestId, causationId: nil, on: connection)
                    guard let paid = try await store.find(id: payment.id, on: connection), let response = try await existing(paid, on: connection)
                    else { throw Self.unavailable }
                    return .existing(response)
                }
            } else if spendWallet {
                try await store.requestWallet(payment, correlationId: context.requestId, on: connection)
                return .awaitWallet(payment.id)
            }
            let subject = payment.id.uuidString.lowercased()
            let earlier = try await commands.store.commands(subject: subject, kind: PaymentCommand.createIntent, on: connection)
            if let pending = earlier.first(where: { $0.status == .pending }) { return .command(pending.id) }
            // Earlier commands were refused (nothing was created): a new attempt gets a new key.
            // Claimed for this request, which calls the gateway right after the commit.
            let claim = try await commands.enqueueClaimed(
                GatewayCommand(
                    kind: PaymentCommand.createIntent, subject: subject, amount: payment.cardAmount, currency: payment.currency,
                    idempotencyKey: "payment-\(subject)-intent" + (earlier.isEmpty ? "" : "-\(earlier.count + 1)"),
                    parameters: ["checkout_id": payment.checkoutId.uuidString.lowercased()], correlationId: context.requestId),
                on: connection)
            return .claimed(claim)
        }
    }

    /// The payment's intent as the buyer sees it, once it has one.
    private func existing(
        _ payment: Payment, knownClientSecret: String? = nil, on connection: PostgresConnection
    ) async throws -> IntentResponse? {
        let wallet = payment.walletAmount ?? 0
        guard payment.intentId != nil || (payment.walletRequested && wallet == payment.amount && payment.status.rank >= PaymentStatus.succeeded.rank)
        else { return nil }
        var clientSecret = knownClientSecret
        if payment.intentId != nil, clientSecret == nil { clientSecret = try await store.clientSecret(payment.id, on: connection) }
        return IntentResponse(
            paymentId: payment.id, intentId: payment.intentId,
            clientSecret: payment.intentId == nil ? nil : clientSecret,
            amount: payment.amount, currency: payment.currency, status: payment.status.rawValue, walletAmount: wallet,
            cardAmount: payment.cardAmount)
    }

    /// How long after its checkout a payment may still be on its way: far beyond any lag the
    /// consumers recover from on their own; later than that, an id with no payment names nothing.
    static let paymentInFlightWindow: TimeInterval = 15 * 60

    /// The answer when no payment came for a checkout or order id within the wait. OrderService
    /// makes its ids as version-7 UUIDs, which carry when they were made: an id from the last
    /// `paymentInFlightWindow` names a checkout whose event is still queued (under load, or while a
    /// consumer restarts), so the client is asked to retry; any other id is 404.
    static func noPayment(for id: UUID?, now: Date = Date()) -> Problem {
        if let made = id?.version7Date, made > now - paymentInFlightWindow, made < now + 60 {
            return Problem(
                status: .serviceUnavailable, type: "/problems/payment-pending", title: "Payment not set up yet",
                detail: "This checkout's payment is still being set up; retry in a moment.", extensions: ["retryAfterSeconds": "1"])
        }
        return Problem.notFound("No payment for that order or checkout.")
    }

    /// The wallet's answer has not come yet: a retry continues where this one stopped.
    static let walletPending = Problem(
        status: .serviceUnavailable, type: "/problems/wallet-pending", title: "Store credit not held yet",
        detail: "The store credit for this payment is being set aside; retry in a few seconds.", extensions: ["retryAfterSeconds": "2"])

    /// No answer from the gateway yet: the command worker keeps trying with the same key.
    static let unavailable = Problem(
        status: .serviceUnavailable, type: "/problems/gateway-pending", title: "Payment provider did not answer yet",
        detail: "The payment is being set up; retry in a few seconds.", extensions: ["retryAfterSeconds": "2"])

    func confirm(_ request: Request, _ context: AppRequestContext) async throws -> ConfirmResponse {
        let buyer = try context.requireRole(.buyer)
        let body = try await request.decode(as: Confirm.self, context: context)
        guard PaymentsController.isStripeId(body.paymentMethod) else {
            throw Problem.validation("paymentMethod must be a Stripe payment method id (letters, digits and _).")
        }
        let payment = try await postgres.withConnection { try await store.find(id: body.paymentId, on: $0) }
        guard let payment, payment.buyerId == buyer.id else {
            throw Problem.notFound("No payment with id \(body.paymentId.uuidString.lowercased()).")
        }
        guard let intentId = payment.intentId else { throw Problem.conflict("Create the payment intent first.") }
        guard payment.status.isPayable else {
            throw Problem.conflict("This payment is \(payment.status.rawValue).", extensions: ["currentState": payment.status.rawValue])
        }
        // A failed payment gave its store credit back to the wallet: the card alone would pay too little.
        guard payment.status != .failed || (payment.walletAmount ?? 0) == 0 else {
            throw Problem.conflict(
                "This payment failed and its store credit went back to the wallet; check out again.",
                extensions: ["currentState": payment.status.rawValue])
        }
        // A saved card is charged with its owner's customer on the intent; another buyer's is not found.
        let customer = try await PaymentMethodsController.translating(context) { try await cards.payer(of: body.paymentMethod, buyer: buyer) }
        do {
            let intent = try await gateway.confirmIntent(
                id: intentId, paymentMethod: body.paymentMethod, customer: customer,
                idempotencyKey: "payment-\(payment.id.uuidString.lowercased())-confirm-\(body.paymentMethod)")
            return ConfirmResponse(paymentId: payment.id, intentStatus: intent.status, paymentStatus: payment.status.rawValue)
        } catch {
            throw Self.problem(for: error, logger: context.logger)
        }
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> Page<Payment> {
        let user = try context.requireUser()
        let query = request.uri.queryParameters
        let all: Bool
        switch query.get("as") {
        case nil: all = false
        case "admin":
            guard user.isAdmin else { throw Problem.forbidden("Only admins can list every payment.") }
            all = true
        default: throw Problem.badRequest("as must be admin or left out.")
        }
        let filter = try PaymentFilter(query: query, buyerId: all ? nil : user.id)
        let payments = try await postgres.withConnection { try await store.list(filter, on: $0) }
        return Page(
            rows: payments, limit: filter.page.limit, cursor: { PageCursor(createdAt: $0.createdAt, id: $0.id) }, item: { $0 })
    }

    func show(_ context: AppRequestContext) async throws -> PaymentDetail {
        let user = try context.requireUser()
        let id = try context.parameters.require("id", as: UUID.self)
        return try await postgres.withConnection { connection in
            guard let payment = try await store.find(id: id, on: connection), payment.buyerId == user.id || user.isAdmin else {
                throw Problem.notFound("No payment with id \(id.uuidString.lowercased()).")
            }
            return PaymentDetail(payment: payment, trail: try await store.trail(of: id, on: connection))
        }
    }

    /// What a Stripe id looks like (`pm_card_visa`, `pm_1Q…`): nothing else is sent to the gateway.
    static func isStripeId(_ text: String) -> Bool {
        (1...255).contains(text.utf8.count) && text.utf8.allSatisfy { $0 == UInt8(ascii: "_") || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }
    }

    /// Maps a gateway error to what a client may see: declines as 402 with a safe message.
    static func problem(for error: StripeError, logger: Logger) -> Problem {
        logger.warning("gateway call failed", metadata: ["error": "\(error)"])
        switch error.kind {
        case .cardDeclined:
            return Problem(
                status: .init(code: 402), type: "/problems/card-declined", title: "Card declined", detail: error.userMessage,
                extensions: ["declineCode": error.declineCode ?? "generic_decline"])
        case .invalidRequest:
            return Problem.validation(error.code == "resource_missing" ? "Unknown payment method." : error.userMessage)
        default:
            return Problem(status: .badGateway, type: "/problems/gateway", title: "Payment provider unavailable", detail: error.userMessage)
        }
    }
}
