import EventContracts
import Foundation
import HTTPTypes
import Testing
import TestSupport

@Suite struct OrderAccessTests {
    @Test func partiesSeeTheirOrdersAndOthersGet404() async throws {
        try await OrderServiceHarness.run { service in
            let listing = try await service.createListing(seller: "seller-d", stock: 5)
            let order = try await service.placeOrder(buyer: "buyer-a", listing: listing)
            let path = "/api/v1/orders/\(order.uuidString)"

            #expect(try await service.call(.get, path, as: "buyer-a", roles: ["buyer"]).status == .ok)
            #expect(try await service.call(.get, path, as: "seller-d", roles: ["seller"]).status == .ok)
            #expect(try await service.call(.get, path, as: "ops", roles: ["admin"]).status == .ok)

            // Buyer B cannot read, cancel or confirm buyer A's order; it does not exist for them.
            #expect(try await service.call(.get, path, as: "buyer-b", roles: ["buyer"]).status == .notFound)
            #expect(try await service.call(.post, "\(path)/cancel", as: "buyer-b", roles: ["buyer"]).status == .notFound)
            #expect(try await service.call(.post, "\(path)/confirm-delivery", as: "buyer-b", roles: ["buyer"]).status == .notFound)
            // Seller C cannot ship seller D's order.
            let ship: JSONValue = ["carrier": "UPS", "trackingNumber": "1"]
            #expect(try await service.call(.post, "\(path)/ship", as: "seller-c", roles: ["seller"], body: ship).status == .notFound)
            // The buyer is a party but not the seller: 403.
            #expect(try await service.call(.post, "\(path)/ship", as: "buyer-a", roles: ["buyer"], body: ship).status == .forbidden)
            // Lists are per caller.
            let mine = try await service.call(.get, "/api/v1/orders", as: "buyer-a", roles: ["buyer"]).json()
            #expect((mine["items"] as? [Any])?.count == 1)
            let theirs = try await service.call(.get, "/api/v1/orders", as: "buyer-b", roles: ["buyer"]).json()
            #expect((theirs["items"] as? [Any])?.count == 0)
            let sales = try await service.call(.get, "/api/v1/orders?as=seller", as: "seller-d", roles: ["seller"]).json()
            #expect((sales["items"] as? [Any])?.count == 1)
            #expect(try await service.call(.get, "/api/v1/orders?as=admin", as: "buyer-a", roles: ["buyer"]).status == .forbidden)
        }
    }

    @Test func listsArePagedNewestFirstWithACursor() async throws {
        try await OrderServiceHarness.run { service in
            let listing = try await service.createListing(seller: "seller-p", stock: 5)
            var placed: [String] = []
            for _ in 0..<3 { placed.append(try await service.placeOrder(buyer: "buyer-p", listing: listing).uuidString.lowercased()) }
            let first = try await service.call(.get, "/api/v1/orders?limit=2", as: "buyer-p", roles: ["buyer"]).json()
            let firstIds = (first["items"] as? [[String: Any]] ?? []).compactMap { ($0["id"] as? String)?.lowercased() }
            #expect(firstIds == [placed[2], placed[1]])
            let cursor = try (first["nextCursor"] as? String).orThrow("nextCursor")
            let second = try await service.call(.get, "/api/v1/orders?limit=2&cursor=\(cursor)", as: "buyer-p", roles: ["buyer"]).json()
            let secondIds = (second["items"] as? [[String: Any]] ?? []).compactMap { ($0["id"] as? String)?.lowercased() }
            #expect(secondIds == [placed[0]])
            #expect(second["nextCursor"] == nil || second["nextCursor"] is NSNull)
            let pending = try await service.call(.get, "/api/v1/orders?status=paid", as: "buyer-p", roles: ["buyer"]).json()
            #expect((pending["items"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func missingRolesAre403AndAdminsMustGiveAReason() async throws {
        try await OrderServiceHarness.run { service in
            let listing: JSONValue = ["title": "T", "priceAmount": 100, "currency": "usd", "stock": 1]
            #expect(try await service.call(.post, "/api/v1/listings", as: "buyer-x", roles: ["buyer"], body: listing).status == .forbidden)
            let id = try await service.createListing(seller: "seller-r", stock: 2)
            let order: JSONValue = ["listingId": .string(id.uuidString), "quantity": 1, "shippingAddress": OrderServiceHarness.address]
            #expect(try await service.call(.post, "/api/v1/orders", as: "seller-x", roles: ["seller"], body: order, idempotencyKey: "x").status == .forbidden)
            let orderId = try await service.placeOrder(buyer: "buyer-r", listing: id)
            let path = "/api/v1/orders/\(orderId.uuidString)/cancel"
            #expect(try await service.call(.post, path, as: "ops", roles: ["admin"]).status == .unprocessableContent)
            #expect(try await service.call(.post, path, as: "ops", roles: ["admin"], body: ["reason": "fraud check"] as JSONValue).status == .ok)
            #expect(try await service.stock(of: id) == (2, 0, 0))
        }
    }

    @Test func forbiddenMovesAre409NamingTheCurrentState() async throws {
        try await OrderServiceHarness.run { service in
            let listing = try await service.createListing(seller: "seller-f", stock: 2)
            let order = try await service.placeOrder(buyer: "buyer-f", listing: listing)
            let path = "/api/v1/orders/\(order.uuidString)"
            let ship = try await service.call(.post, "\(path)/ship", as: "seller-f", roles: ["seller"], body: ["carrier": "UPS", "trackingNumber": "1"] as JSONValue)
            #expect(ship.status == .conflict)
            #expect(try ship.json()["currentState"] as? String == "pending_payment")
            let confirm = try await service.call(.post, "\(path)/confirm-delivery", as: "buyer-f", roles: ["buyer"])
            #expect(confirm.status == .conflict)
            #expect(confirm.headers[.contentType] == "application/problem+json")
            // The seller may not cancel before payment; the buyer may, once.
            #expect(try await service.call(.post, "\(path)/cancel", as: "seller-f", roles: ["seller"]).status == .forbidden)
            #expect(try await service.call(.post, "\(path)/cancel", as: "buyer-f", roles: ["buyer"]).status == .ok)
            let again = try await service.call(.post, "\(path)/cancel", as: "buyer-f", roles: ["buyer"])
            #expect(again.status == .conflict)
            #expect(try again.json()["currentState"] as? String == "cancelled")
        }
    }

    @Test func badInputGetsClearProblems() async throws {
        try await OrderServiceHarness.run { service in
            let listing = try await service.createListing(seller: "seller-v", stock: 1)
            let bad: [(JSONValue, HTTPResponse.Status)] = [
                (["listingId": .string(listing.uuidString), "quantity": 0, "shippingAddress": OrderServiceHarness.address], .unprocessableContent),
                (["listingId": .string(listing.uuidString), "quantity": 1], .badRequest),
                (["listingId": "not-a-uuid", "quantity": 1, "shippingAddress": OrderServiceHarness.address], .badRequest),
                (["listingId": .string(UUID().uuidString), "quantity": 1, "shippingAddress": OrderServiceHarness.address], .unprocessableContent),
            ]
            for (index, (body, status)) in bad.enumerated() {
                let reply = try await service.call(.post, "/api/v1/orders", as: "buyer-v", roles: ["buyer"], body: body, idempotencyKey: "bad-\(index)")
                #expect(reply.status == status, "case \(index): \(reply.text)")
                #expect(reply.headers[.contentType] == "application/problem+json")
            }
            #expect(try await service.call(.get, "/api/v1/orders?limit=0", as: "buyer-v", roles: ["buyer"]).status == .badRequest)
            #expect(try await service.call(.get, "/api/v1/orders?cursor=%%%", as: "buyer-v", roles: ["buyer"]).status == .badRequest)
            #expect(try await service.call(.get, "/api/v1/orders/not-a-uuid", as: "buyer-v", roles: ["buyer"]).status == .badRequest)
        }
    }
}
