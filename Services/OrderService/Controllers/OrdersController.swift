import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import PostgresNIO
import ServiceRuntime

/// `/api/v1/orders` and `/api/v1/checkouts`: buying, reading and moving orders along.
struct OrdersController: Sendable {
    let store: OrderStore
    let postgres: PostgresClient
    let idempotency: IdempotencyStore
    let settings: OrderSettings

    struct CreateCheckout: Decodable {
        var items: [RequestedItem]
        var shippingAddress: ShippingAddress
        /// Spend store credit first when paying (PaymentService holds it as soon as the payment exists).
        var useWallet: Bool?
    }

    struct CreateOrder: Decodable {
        var listingId: UUID
        var quantity: Int
        var shippingAddress: ShippingAddress
    }

    struct CheckoutResponse: Encodable, Sendable {
        var checkoutId: UUID
        var currency: String
        var totalAmount: Int64
        var orders: [OrderResponse]
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("checkouts") { request, context in try await checkout(request, context) }
        group.post("orders") { request, context in try await createOrder(request, context) }
        group.get("orders") { request, context in try await list(request, context) }
        group.get("orders/{id}") { _, context in try await show(context) }
        let actions = OrderActions(store: store, postgres: postgres, settings: settings)
        group.post("orders/{id}/ship") { request, context in try await actions.ship(request, context) }
        group.post("orders/{id}/tracking") { request, context in try await actions.track(request, context) }
        group.post("orders/{id}/confirm-delivery") { request, context in try await actions.confirmDelivery(request, context) }
        group.post("orders/{id}/cancel") { request, context in try await actions.cancel(request, context) }
    }

    func checkout(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let buyer = try context.requireRole(.buyer)
        let raw = try await request.body.collect(upTo: context.maxUploadSize)
        let body = try EventCoding.decoder.decode(CreateCheckout.self, from: Data(buffer: raw))
        let address = try Self.validated(body.shippingAddress)
        return try await idempotency.run(request: request, context: context, body: raw) { connection in
            let result = try await place(body.items, address: address, buyer: buyer, useWallet: body.useWallet, context: context, on: connection)
            return try .init(
                status: .created,
                body: CheckoutResponse(
                    checkoutId: result.checkoutId, currency: result.orders[0].currency,
                    totalAmount: result.orders.reduce(0) { $0 + $1.totalAmount }, orders: result.orders.map { OrderResponse($0) }))
        }
    }

    func createOrder(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let buyer = try context.requireRole(.buyer)
        let raw = try await request.body.collect(upTo: context.maxUploadSize)
        let body = try EventCoding.decoder.decode(CreateOrder.self, from: Data(buffer: raw))
        let address = try Self.validated(body.shippingAddress)
        return try await idempotency.run(request: request, context: context, body: raw) { connection in
            let result = try await place(
                [RequestedItem(listingId: body.listingId, quantity: body.quantity)], address: address, buyer: buyer,
                context: context, on: connection)
            return try .init(status: .created, body: OrderResponse(result.orders[0]))
        }
    }

    private func place(
        _ items: [RequestedItem], address: ShippingAddress, buyer: AuthenticatedUser, useWallet: Bool? = nil, context: AppRequestContext,
        on connection: PostgresConnection
    ) async throws -> (checkoutId: UUID, orders: [Order]) {
        let listings = try await store.listingsForSale(items.map(\.listingId), on: connection)
        let plan = try CheckoutPlan.make(buyerId: buyer.id, items: items, listings: listings)
        let cause = Cause(actor: "buyer:\(buyer.id)", reason: nil, correlationId: context.requestId, causationId: nil)
        return try await store.createCheckout(
            plan, buyer: buyer, shippingAddress: address, expiresAt: Date().addingTimeInterval(settings.paymentTimeout),
            useWallet: useWallet, cause: cause, on: connection)
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> Page<OrderResponse> {
        let user = try context.requireUser()
        let query = request.uri.queryParameters
        let page = try PageRequest(limit: query.get("limit"), cursor: query.get("cursor"))
        let status = try query.get("status").map { value in
            guard let status = OrderStatus(rawValue: value) else {
                throw Problem.badRequest("status must be one of \(OrderStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            return status
        }
        let role = query.get("as") ?? "buyer"
        let (buyerId, sellerId): (String?, String?)
        switch role {
        case "buyer": (buyerId, sellerId) = (user.id, nil)
        case "seller": (buyerId, sellerId) = (nil, user.id)
        case "admin":
            guard user.isAdmin else { throw Problem.forbidden("Only admins can list every order.") }
            (buyerId, sellerId) = (nil, nil)
        default: throw Problem.badRequest("as must be buyer, seller or admin.")
        }
        let orders = try await postgres.withConnection { connection in
            try await store.list(
                buyerId: buyerId, sellerId: sellerId, status: status, after: page.cursor, limit: page.limit + 1, on: connection)
        }
        return Page(rows: orders, limit: page.limit, cursor: { PageCursor(createdAt: $0.createdAt, id: $0.id) }, item: { OrderResponse($0) })
    }

    func show(_ context: AppRequestContext) async throws -> OrderResponse {
        let user = try context.requireUser()
        let id = try context.parameters.require("id", as: UUID.self)
        return try await postgres.withConnection { connection in
            guard let order = try await store.load(id, on: connection), order.isVisible(to: user.id, isAdmin: user.isAdmin) else {
                throw Problem.notFound("No order with id \(id.uuidString.lowercased()).")
            }
            return try await store.detail(order, on: connection)
        }
    }

    static func validated(_ address: ShippingAddress) throws -> ShippingAddress {
        var address = address
        func clean(_ value: String, _ field: String, max: Int = 200) throws -> String {
            let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
            guard (1...max).contains(trimmed.count) else {
                throw Problem.validation("shippingAddress.\(field) must be 1 to \(max) characters.")
            }
            return trimmed
        }
        address.name = try clean(address.name, "name")
        address.line1 = try clean(address.line1, "line1")
        address.line2 = try address.line2.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : try clean($0, "line2") }
        address.city = try clean(address.city, "city", max: 100)
        address.postalCode = try clean(address.postalCode, "postalCode", max: 20)
        let country = address.country.uppercased()
        guard country.count == 2, country.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) }) else {
            throw Problem.validation("shippingAddress.country must be a 2-letter ISO code such as US.")
        }
        address.country = country
        return address
    }
}
