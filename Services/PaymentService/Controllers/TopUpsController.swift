import EventContracts
import Foundation
import GatewayCommands
import HTTPSupport
import Hummingbird
import PostgresNIO

/// `/api/v1/wallet/top-ups`: a buyer adds store credit with a card. The top-up's PaymentIntent is
/// a gateway command like a checkout's; its success (by webhook) publishes `wallet.topped_up`,
/// and EscrowService credits the wallet in its ledger.
struct TopUpsController: Sendable {
    let topUps: TopUpStore
    let postgres: PostgresClient
    let gateway: any PaymentGateway
    let commands: GatewayCommandRunner
    let cards: SavedCards
    let flags: FeatureFlagStore

    struct Create: Decodable {
        var amount: Int64
        var currency: String
    }

    struct Confirm: Decodable {
        var paymentMethod: String
    }

    struct Confirmed: Encodable, ResponseEncodable {
        var topUpId: UUID
        /// Stripe's answer; the wallet is credited when the webhook reports the success.
        var intentStatus: String
    }

    struct List: Encodable, ResponseEncodable {
        var items: [TopUp]
    }

    /// Stripe's smallest charge is about 50 cents; the largest top-up is 10,000 in major units.
    static let amounts: ClosedRange<Int64> = 50...1_000_000

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("wallet/top-ups") { request, context in try await create(request, context) }
        group.get("wallet/top-ups") { _, context in
            let buyer = try context.requireRole(.buyer)
            return List(items: try await postgres.withConnection { try await topUps.list(buyer: buyer.id, limit: 50, on: $0) })
        }
        group.post("wallet/top-ups/{id}/confirm") { request, context in try await confirm(request, context) }
    }

    func create(_ request: Request, _ context: AppRequestContext) async throws -> EditedResponse<TopUp> {
        let buyer = try context.requireRole(.buyer)
        // Off: no new top-up; those already made can still be paid (their money may be on its way).
        try await flags.require(.wallet)
        let body = try await request.decode(as: Create.self, context: context)
        guard let key = request.headers[.idempotencyKey], (1...255).contains(key.count) else {
            throw Problem.badRequest("Idempotency-Key (1 to 255 characters) is required: a retry with it gets the same top-up.")
        }
        let currency = body.currency.lowercased()
        guard currency.count == 3, currency.allSatisfy({ $0.isASCII && $0.isLetter }) else { throw Problem.validation("currency must be three letters.") }
        guard Self.amounts.contains(body.amount) else {
            throw Problem.validation("amount must be from \(Self.amounts.lowerBound) to \(Self.amounts.upperBound) minor units.")
        }
        let (topUp, commandId) = try await postgres.inTransaction(logger: context.logger) { connection -> (TopUp, UUID?) in
            let topUp = try await topUps.create(buyer: buyer.id, amount: body.amount, currency: currency, key: "\(buyer.id):\(key)", on: connection)
            guard topUp.amount == body.amount, topUp.currency == currency else {
                throw Problem.validation("This Idempotency-Key was used for another top-up.")
            }
            guard topUp.intentId == nil, topUp.status == "requires_payment" else { return (topUp, nil) }
            let command = try await commands.store.enqueue(
                GatewayCommand(
                    kind: PaymentCommand.createTopUpIntent, subject: topUp.id.uuidString.lowercased(), amount: topUp.amount,
                    currency: topUp.currency, idempotencyKey: "top-up-\(topUp.id.uuidString.lowercased())-intent",
                    parameters: ["buyer_id": buyer.id], correlationId: context.requestId),
                on: connection)
            return (topUp, command.id)
        }
        if let commandId, try await commands.runAndWait(commandId, postgres: postgres)?.status == .pending {
            throw PaymentsController.unavailable
        }
        let current = try await postgres.withConnection { try await topUps.find(where: "id = \(topUp.id)", lock: false, on: $0) } ?? topUp
        guard current.status != "failed" || current.intentId != nil else {
            throw Problem(status: .badGateway, type: "/problems/gateway", title: "Payment provider refused", detail: "The payment provider refused this top-up.")
        }
        return EditedResponse(status: .created, response: current)
    }

    func confirm(_ request: Request, _ context: AppRequestContext) async throws -> Confirmed {
        let buyer = try context.requireRole(.buyer)
        let id = try context.parameters.require("id", as: UUID.self)
        let body = try await request.decode(as: Confirm.self, context: context)
        guard PaymentsController.isStripeId(body.paymentMethod) else {
            throw Problem.validation("paymentMethod must be a Stripe payment method id (letters, digits and _).")
        }
        let topUp = try await postgres.withConnection { try await topUps.find(where: "id = \(id)", lock: false, on: $0) }
        guard let topUp, topUp.buyerId == buyer.id else { throw Problem.notFound("No top-up with id \(id.uuidString.lowercased()).") }
        guard let intentId = topUp.intentId, topUp.status == "processing" || topUp.status == "failed" else {
            throw Problem.conflict("This top-up is \(topUp.status).", extensions: ["currentState": topUp.status])
        }
        let customer = try await PaymentMethodsController.translating(context) { try await cards.payer(of: body.paymentMethod, buyer: buyer) }
        do {
            let intent = try await gateway.confirmIntent(
                id: intentId, paymentMethod: body.paymentMethod, customer: customer,
                idempotencyKey: "top-up-\(topUp.id.uuidString.lowercased())-confirm-\(body.paymentMethod)")
            return Confirmed(topUpId: topUp.id, intentStatus: intent.status)
        } catch {
            throw PaymentsController.problem(for: error, logger: context.logger)
        }
    }
}
