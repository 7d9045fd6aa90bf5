import EventContracts
import Foundation
import HTTPSupport
import Hummingbird

/// `/api/v1/listings`: sellers list items with a price and stock; everyone signed in can browse.
struct ListingsController: Sendable {
    let store: ListingStore

    struct CreateListing: Decodable {
        var title: String
        var description: String?
        var priceAmount: Int64
        var currency: String
        var stock: Int
    }

    struct UpdateListing: Decodable {
        var title: String?
        var description: String?
        var priceAmount: Int64?
        var stock: Int?
        var active: Bool?
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("listings") { request, context in try await create(request, context) }
        group.get("listings") { request, context in try await list(request, context) }
        group.get("listings/{id}") { _, context in try await show(context) }
        group.patch("listings/{id}") { request, context in try await update(request, context) }
    }

    func create(_ request: Request, _ context: AppRequestContext) async throws -> EditedResponse<Listing> {
        let seller = try context.requireRole(.seller)
        let body = try await request.decode(as: CreateListing.self, context: context)
        let title = try Self.validTitle(body.title)
        try Self.validate(price: body.priceAmount)
        try Self.validate(stock: body.stock)
        let currency = body.currency.lowercased()
        guard Money.isValidCurrency(currency) else { throw Problem.validation("currency must be a 3-letter ISO code such as usd.") }
        let description = body.description ?? ""
        guard description.count <= 5000 else { throw Problem.validation("description must be at most 5000 characters.") }
        let listing = try await store.create(
            sellerId: seller.id, sellerEmail: seller.email, title: title, description: description, priceAmount: body.priceAmount,
            currency: currency, stock: body.stock)
        return EditedResponse(status: .created, headers: [.location: "/api/v1/listings/\(listing.id.uuidString.lowercased())"], response: listing)
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> Page<Listing> {
        let user = try context.requireUser()
        let query = request.uri.queryParameters
        let page = try PageRequest(limit: query.get("limit"), cursor: query.get("cursor"))
        let sellerId = query.get("sellerId")
        // Sellers see their own inactive listings; everyone else sees what is for sale.
        let activeOnly = sellerId != user.id && !user.isAdmin
        let listings = try await store.list(sellerId: sellerId, activeOnly: activeOnly, after: page.cursor, limit: page.limit + 1)
        return Page(rows: listings, limit: page.limit, cursor: { PageCursor(createdAt: $0.createdAt, id: $0.id) }, item: { $0 })
    }

    func show(_ context: AppRequestContext) async throws -> Listing {
        _ = try context.requireUser()
        let id = try context.parameters.require("id", as: UUID.self)
        guard let listing = try await store.find(id) else { throw Problem.notFound("No listing with id \(id.uuidString.lowercased()).") }
        return listing
    }

    func update(_ request: Request, _ context: AppRequestContext) async throws -> Listing {
        let user = try context.requireUser()
        let id = try context.parameters.require("id", as: UUID.self)
        guard let listing = try await store.find(id) else { throw Problem.notFound("No listing with id \(id.uuidString.lowercased()).") }
        guard listing.sellerId == user.id || user.isAdmin else { throw Problem.forbidden("Only the listing's seller can change it.") }
        let body = try await request.decode(as: UpdateListing.self, context: context)
        if let price = body.priceAmount { try Self.validate(price: price) }
        if let stock = body.stock { try Self.validate(stock: stock) }
        let title = try body.title.map(Self.validTitle)
        guard (body.description?.count ?? 0) <= 5000 else { throw Problem.validation("description must be at most 5000 characters.") }
        guard let updated = try await store.update(
            id, priceAmount: body.priceAmount, stock: body.stock, active: body.active, title: title, description: body.description)
        else { throw Problem.notFound("No listing with id \(id.uuidString.lowercased()).") }
        return updated
    }

    static func validTitle(_ title: String) throws -> String {
        let trimmed = title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(trimmed.count) else { throw Problem.validation("title must be 1 to 200 characters.") }
        return trimmed
    }

    static func validate(price: Int64) throws {
        guard (1...10_000_000_000).contains(price) else {
            throw Problem.validation("priceAmount must be a positive amount in minor units (at most 10000000000).")
        }
    }

    static func validate(stock: Int) throws {
        guard (0...1_000_000).contains(stock) else { throw Problem.validation("stock must be between 0 and 1000000.") }
    }
}
