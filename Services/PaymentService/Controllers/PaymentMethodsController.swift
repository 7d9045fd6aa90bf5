import HTTPSupport
import Hummingbird
import StripeClient

/// `/api/v1/payment-methods`: a buyer's saved cards. Only their owner sees or uses them.
struct PaymentMethodsController: Sendable {
    let cards: SavedCards

    struct Save: Decodable {
        /// A PaymentMethod id (e.g. `pm_card_visa` in test mode); absent, the client confirms the
        /// SetupIntent with Stripe.js.
        var paymentMethod: String?
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("payment-methods") { request, context in try await save(request, context) }
        group.get("payment-methods") { _, context in try await list(context) }
        group.delete("payment-methods/{id}") { _, context in try await remove(context) }
        group.post("payment-methods/{id}/default") { _, context in try await makeDefault(context) }
    }

    func save(_ request: Request, _ context: AppRequestContext) async throws -> EditedResponse<CardSetup> {
        let buyer = try context.requireRole(.buyer)
        let body = try await request.decode(as: Save.self, context: context)
        let setup = try await Self.translating(context) {
            try await cards.save(buyer, paymentMethod: body.paymentMethod, requestId: context.requestId)
        }
        return EditedResponse(status: .created, response: setup)
    }

    func list(_ context: AppRequestContext) async throws -> SavedCardList {
        let buyer = try context.requireRole(.buyer)
        return SavedCardList(items: try await Self.translating(context) { try await cards.list(buyer) })
    }

    func remove(_ context: AppRequestContext) async throws -> Response {
        let buyer = try context.requireRole(.buyer)
        let id = try context.parameters.require("id")
        try await Self.translating(context) { try await cards.remove(buyer, id: id) }
        return Response(status: .noContent)
    }

    func makeDefault(_ context: AppRequestContext) async throws -> SavedCard {
        let buyer = try context.requireRole(.buyer)
        let id = try context.parameters.require("id")
        return try await Self.translating(context) { try await cards.makeDefault(buyer, id: id, requestId: context.requestId) }
    }

    /// Runs a saved-card use case and turns its errors into problems.
    static func translating<Value>(_ context: AppRequestContext, _ body: () async throws -> Value) async throws -> Value {
        do {
            return try await body()
        } catch let error as SavedCardError {
            throw problem(for: error)
        } catch let error as StripeError {
            throw PaymentsController.problem(for: error, logger: context.logger)
        }
    }

    static func problem(for error: SavedCardError) -> Problem {
        switch error {
        case .notFound: Problem.notFound("No saved payment method with that id.")
        case .invalid(let detail): Problem.validation(detail)
        case .customerPending:
            Problem(
                status: .serviceUnavailable, type: "/problems/gateway-pending", title: "Payment provider did not answer yet",
                detail: "Your payment profile is being set up; retry in a few seconds.", extensions: ["retryAfterSeconds": "2"])
        case .customerRefused:
            Problem(
                status: .badGateway, type: "/problems/gateway", title: "Payment provider refused",
                detail: "The payment provider refused to set up your payment profile; try again or contact support.")
        }
    }
}
