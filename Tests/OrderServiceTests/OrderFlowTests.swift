import EventContracts
import Foundation
import HTTPTypes
import Testing
import TestSupport

@testable import OrderService

@Suite struct OrderFlowTests {
    @Test func fiftyBuyersRacingForTheLastTenUnitsGetExactlyTenOrders() async throws {
        try await OrderServiceHarness.run { service in
            let listing = try await service.createListing(seller: "seller-race", stock: 10)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for buyer in 0..<50 {
                    group.addTask {
                        try await service.call(
                            .post, "/api/v1/orders", as: "buyer-\(buyer)", roles: ["buyer"],
                            body: ["listingId": JSONValue.string(listing.uuidString), "quantity": 1, "shippingAddress": OrderServiceHarness.address],
                            idempotencyKey: "race-\(buyer)"
                        ).status
                    }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 10)
            #expect(statuses.filter { $0 == .conflict }.count == 40)
            let stock = try await service.stock(of: listing)
            #expect(stock.stock == 0)
            #expect(stock.reserved == 10)
            #expect(try await service.database.count("SELECT count(*) FROM orders") == 10)
        }
    }

    @Test func retriesWithTheSameKeyReplayTheFirstResponse() async throws {
        try await OrderServiceHarness.run { service in
            let listing = try await service.createListing(seller: "seller-idem", stock: 5)
            let body: JSONValue = ["listingId": .string(listing.uuidString), "quantity": 2, "shippingAddress": OrderServiceHarness.address]
            let first = try await service.call(.post, "/api/v1/orders", as: "buyer-idem", roles: ["buyer"], body: body, idempotencyKey: "k-1")
            let again = try await service.call(.post, "/api/v1/orders", as: "buyer-idem", roles: ["buyer"], body: body, idempotencyKey: "k-1")
            #expect(first.status == .created)
            #expect(again.status == .created)
            #expect(try again.json()["id"] as? String == first.json()["id"] as? String)
            #expect(again.headers[.init("Idempotent-Replayed")!] == "true")

            var other = body
            if case .object(var fields) = other { fields["quantity"] = 1; other = .object(fields) }
            let mismatch = try await service.call(.post, "/api/v1/orders", as: "buyer-idem", roles: ["buyer"], body: other, idempotencyKey: "k-1")
            #expect(mismatch.status == .unprocessableContent)
            let missing = try await service.call(.post, "/api/v1/orders", as: "buyer-idem", roles: ["buyer"], body: body)
            #expect(missing.status == .badRequest)

            // Racing requests with one key create one order; the others are told to retry (409) or replayed.
            let racing = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        try await service.call(.post, "/api/v1/orders", as: "buyer-idem", roles: ["buyer"], body: body, idempotencyKey: "k-race").status
                    }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(racing.allSatisfy { $0 == .created || $0 == .conflict })
            #expect(racing.contains(.created))
            #expect(try await service.database.count("SELECT count(*) FROM orders") == 2)
            #expect(try await service.stock(of: listing).reserved == 4)
        }
    }

    @Test func aCheckoutAcrossSellersMakesOneOrderPerSellerAndOneCheckoutEvent() async throws {
        try await OrderServiceHarness.run { service in
            let mug = try await service.createListing(seller: "seller-a", price: 1250)
            let lamp = try await service.createListing(seller: "seller-b", price: 4999)
            let reply = try await service.call(
                .post, "/api/v1/checkouts", as: "buyer-cart", roles: ["buyer"],
                body: [
                    "items": [["listingId": .string(mug.uuidString), "quantity": 2], ["listingId": .string(lamp.uuidString), "quantity": 1]],
                    "shippingAddress": OrderServiceHarness.address, "useWallet": true,
                ] as JSONValue, idempotencyKey: "cart-1")
            #expect(reply.status == .created)
            let json = try reply.json()
            #expect(json["totalAmount"] as? Int == 2 * 1250 + 4999)
            let orders = try (json["orders"] as? [[String: Any]]).orThrow("orders")
            #expect(orders.count == 2)
            #expect(Set(orders.compactMap { $0["sellerId"] as? String }) == ["seller-a", "seller-b"])
            #expect(orders.allSatisfy { ($0["orderNumber"] as? String)?.hasPrefix("EM-") == true })
            // PaymentService reads when a checkout or order id was made (version-7 UUIDs) to tell a
            // payment still on its way (503, retry) from an unknown id (404): the contract's producer side.
            let ids = [json["checkoutId"]] + orders.map { $0["id"] }
            let made = ids.map { ($0 as? String).flatMap(UUID.init(uuidString:))?.version7Date }
            #expect(made.count == 3 && made.allSatisfy { $0.map { abs($0.timeIntervalSinceNow) < 60 } == true })
            #expect(try await service.database.count("SELECT count(*) FROM outbox WHERE event_type = 'checkout.created'") == 1)
            #expect(try await service.database.count("SELECT count(*) FROM outbox WHERE event_type = 'order.placed'") == 2)
            // The buyer's wish to spend store credit travels with the checkout to PaymentService.
            #expect(try await service.database.count(
                "SELECT count(*) FROM outbox WHERE event_type = 'checkout.created' AND (convert_from(envelope, 'UTF8')::jsonb #>> '{payload,useWallet}') = 'true'") == 1)
        }
    }

    /// An order of several lines is written with its lines and its first history row in one
    /// statement: every line, numbered from 0, and one history row.
    @Test func anOrderOfSeveralLinesKeepsEveryLineAndItsFirstHistoryRow() async throws {
        try await OrderServiceHarness.run { service in
            let mug = try await service.createListing(seller: "seller-lines", price: 1250)
            let lamp = try await service.createListing(seller: "seller-lines", price: 4999)
            let reply = try await service.call(
                .post, "/api/v1/checkouts", as: "buyer-lines", roles: ["buyer"],
                body: [
                    "items": [["listingId": .string(mug.uuidString), "quantity": 2], ["listingId": .string(lamp.uuidString), "quantity": 3]],
                    "shippingAddress": OrderServiceHarness.address,
                ] as JSONValue, idempotencyKey: "lines-1")
            #expect(reply.status == .created)
            let orders = try (reply.json()["orders"] as? [[String: Any]]).orThrow("orders")
            let order = try (orders.first?["id"] as? String).flatMap(UUID.init(uuidString:)).orThrow("order id")
            #expect(orders.count == 1)
            let lines = try await service.database.client.query(
                """
                SELECT position, listing_id, title, quantity, unit_price_amount, line_total_amount FROM order_items
                WHERE order_id = \(order) ORDER BY position
                """, logger: TestEnvironment.logger
            ).decode((Int, UUID, String, Int, Int64, Int64).self).all()
            #expect(lines.map(\.0) == [0, 1])
            #expect(Set(lines.map { "\($0.1) \($0.2) \($0.3) \($0.4) \($0.5)" }) == [
                "\(mug) Item of seller-lines 2 1250 2500", "\(lamp) Item of seller-lines 3 4999 14997",
            ])
            let history = try await service.database.client.query(
                "SELECT from_status, to_status FROM order_history WHERE order_id = \(order)", logger: TestEnvironment.logger
            ).decode((String?, String).self).all()
            #expect(history.count == 1 && history[0].0 == nil && history[0].1 == "pending_payment")
            let detail = try await service.call(.get, "/api/v1/orders/\(order.uuidString)", as: "buyer-lines", roles: ["buyer"]).json()
            let items = try (detail["items"] as? [[String: Any]]).orThrow("items")
            #expect(items.compactMap { $0["listingId"] as? String }.map { $0.lowercased() } == lines.map { $0.1.uuidString.lowercased() })
            #expect(items.compactMap { $0["quantity"] as? Int } == lines.map(\.3))
        }
    }

    @Test func aCartWithOneListingShortReservesNothingAndNamesThatListing() async throws {
        try await OrderServiceHarness.run { service in
            let plenty = try await service.createListing(seller: "seller-short-a", stock: 10)
            let short = try await service.createListing(seller: "seller-short-b", stock: 1)
            for (attempt, listings) in [[plenty, short], [short, plenty]].enumerated() {
                let reply = try await service.call(
                    .post, "/api/v1/checkouts", as: "buyer-short", roles: ["buyer"],
                    body: [
                        "items": .array(listings.map { ["listingId": .string($0.uuidString), "quantity": 2] }),
                        "shippingAddress": OrderServiceHarness.address,
                    ] as JSONValue, idempotencyKey: "short-\(attempt)")
                #expect(reply.status == .conflict)
                #expect((try reply.json()["listingId"] as? String) == short.uuidString.lowercased())
            }
            #expect(try await service.stock(of: plenty) == (stock: 10, reserved: 0, sold: 0))
            #expect(try await service.stock(of: short) == (stock: 1, reserved: 0, sold: 0))
            #expect(try await service.database.count("SELECT count(*) FROM orders") == 0)
            #expect(try await service.database.count("SELECT count(*) FROM outbox") == 0)
        }
    }

    @Test func aPaymentMovesEveryUnpaidOrderOfItsCheckoutOnceAndAsksARefundForACancelledOne() async throws {
        try await OrderServiceHarness.run { service in
            let sellers = ["seller-pay-a", "seller-pay-b", "seller-pay-c"]
            var listings: [UUID] = []
            for seller in sellers { listings.append(try await service.createListing(seller: seller, price: 1000, stock: 5)) }
            let reply = try await service.call(
                .post, "/api/v1/checkouts", as: "buyer-pay", roles: ["buyer"],
                body: [
                    "items": .array(listings.map { ["listingId": .string($0.uuidString), "quantity": 1] }),
                    "shippingAddress": OrderServiceHarness.address,
                ] as JSONValue, idempotencyKey: "pay-all")
            #expect(reply.status == .created)
            let checkout = try UUID(uuidString: reply.json()["checkoutId"] as? String ?? "").orThrow("checkout id")
            let orders = try await service.database.client.query(
                "SELECT id, seller_id FROM orders WHERE checkout_id = \(checkout) ORDER BY seller_id", logger: TestEnvironment.logger
            ).decode((UUID, String).self).all()
            #expect(orders.map(\.1) == sellers)
            let cancelled = orders[2].0
            #expect(try await service.call(.post, "/api/v1/orders/\(cancelled.uuidString)/cancel", as: "buyer-pay", roles: ["buyer"]).status == .ok)

            let payment = PaymentSucceeded(
                paymentId: UUID(), checkoutId: checkout, chargeId: "ch_pay", amount: 3000, currency: "usd",
                orders: orders.map { .init(orderId: $0.0, sellerId: $0.1, amount: 1000) })
            // The same payment twice, under two event ids (a producer that published it again).
            for _ in 0..<2 { try await service.publish(payment, topic: Topic.payments, aggregateId: checkout.uuidString) }
            #expect(try await service.eventually {
                try await service.database.count("SELECT count(*) FROM inbox WHERE event_type = 'payment.succeeded'") == 2
            })
            for (order, _) in orders.prefix(2) { #expect(try await service.status(of: order) == "paid") }
            #expect(try await service.status(of: cancelled) == "cancelled")
            #expect(try await service.stock(of: listings[0]) == (stock: 4, reserved: 0, sold: 1))
            #expect(try await service.stock(of: listings[1]) == (stock: 4, reserved: 0, sold: 1))
            #expect(try await service.stock(of: listings[2]) == (stock: 5, reserved: 0, sold: 0))
            // One history row per paid order, from its unpaid state, by the payment's event.
            let paid = try await service.database.client.query(
                """
                SELECT order_id, from_status, actor FROM order_history WHERE to_status = 'paid' ORDER BY order_id
                """, logger: TestEnvironment.logger
            ).decode((UUID, String?, String).self).all()
            #expect(paid.map(\.0) == orders.prefix(2).map(\.0).sorted { $0.uuidString < $1.uuidString })
            #expect(paid.allSatisfy { $0.1 == "pending_payment" && $0.2 == "event:payment.succeeded" })
            // Their events: order.paid once for each paid order; the cancelled one asks for its money back.
            let events = try await service.database.client.query(
                "SELECT event_type, message_key FROM outbox WHERE event_type IN ('order.paid', 'order.refund_required') ORDER BY id",
                logger: TestEnvironment.logger
            ).decode((String, String).self).all()
            #expect(events.filter { $0.0 == "order.paid" }.map(\.1).sorted() == orders.prefix(2).map { $0.0.uuidString.lowercased() }.sorted())
            #expect(Set(events.filter { $0.0 == "order.refund_required" }.map(\.1)) == [cancelled.uuidString.lowercased()])
        }
    }

    @Test func theWholeLifecycleFromPaymentToCompletion() async throws {
        try await OrderServiceHarness.run { service in
            let listing = try await service.createListing(seller: "seller-life", stock: 3)
            let order = try await service.placeOrder(buyer: "buyer-life", listing: listing, quantity: 2)
            let checkout = try await checkoutId(of: order, service)
            try await service.publish(
                PaymentSucceeded(paymentId: UUID(), checkoutId: checkout, chargeId: "ch_1", amount: 5000, currency: "usd",
                                 orders: [.init(orderId: order, sellerId: "seller-life", amount: 5000)]),
                topic: Topic.payments, aggregateId: checkout.uuidString)
            #expect(try await service.eventually { try await service.status(of: order) == "paid" })
            #expect(try await service.stock(of: listing) == (1, 0, 2))

            let path = "/api/v1/orders/\(order.uuidString)"
            #expect(try await service.call(.post, "\(path)/ship", as: "seller-life", roles: ["seller"], body: ["carrier": "UPS", "trackingNumber": "1Z999"] as JSONValue).status == .ok)
            #expect(try await service.call(.post, "\(path)/tracking", as: "seller-life", roles: ["seller"], body: ["status": "in transit", "location": "Memphis"] as JSONValue).status == .ok)
            #expect(try await service.call(.post, "\(path)/confirm-delivery", as: "buyer-life", roles: ["buyer"]).status == .ok)
            try await service.publish(
                EscrowReleased(escrowId: UUID(), orderId: order, sellerId: "seller-life", amount: 4500, currency: "usd"),
                topic: Topic.escrow, aggregateId: order.uuidString)
            #expect(try await service.eventually { try await service.status(of: order) == "completed" })

            let detail = try await service.call(.get, path, as: "buyer-life", roles: ["buyer"]).json()
            let history = try (detail["history"] as? [[String: Any]]).orThrow("history").compactMap { $0["toStatus"] as? String }
            #expect(history == ["pending_payment", "paid", "shipped", "delivered", "completed"])
            #expect((detail["tracking"] as? [[String: Any]])?.first?["location"] as? String == "Memphis")
            #expect(detail["carrier"] as? String == "UPS")
            let events = try await service.database.client.query(
                "SELECT event_type FROM outbox WHERE message_key = \(order.uuidString.lowercased()) ORDER BY id", logger: TestEnvironment.logger
            ).decode(String.self).all()
            #expect(events == ["order.placed", "order.paid", "order.shipped", "order.tracking_updated", "order.delivered", "order.completed"])
        }
    }

    @Test func aDuplicatedPaymentEventChangesNothing() async throws {
        try await OrderServiceHarness.run { service in
            let listing = try await service.createListing(seller: "seller-dup", stock: 4)
            let order = try await service.placeOrder(buyer: "buyer-dup", listing: listing, quantity: 1)
            let checkout = try await checkoutId(of: order, service)
            let event = PaymentSucceeded(
                paymentId: UUID(), checkoutId: checkout, chargeId: "ch_dup", amount: 2500, currency: "usd",
                orders: [.init(orderId: order, sellerId: "seller-dup", amount: 2500)])
            let id = UUID()
            // The same event twice (redelivery) and once more under another id (a duplicate upstream).
            try await service.publish(event, topic: Topic.payments, aggregateId: checkout.uuidString, id: id)
            try await service.publish(event, topic: Topic.payments, aggregateId: checkout.uuidString, id: id)
            try await service.publish(event, topic: Topic.payments, aggregateId: checkout.uuidString)
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM inbox") == 2 })
            #expect(try await service.status(of: order) == "paid")
            #expect(try await service.stock(of: listing) == (3, 0, 1))
            #expect(try await service.database.count("SELECT count(*) FROM order_history WHERE to_status = 'paid'") == 1)
            #expect(try await service.database.count("SELECT count(*) FROM outbox WHERE event_type = 'order.paid'") == 1)
        }
    }

    @Test func anUnpaidOrderExpiresAndReleasesItsStock() async throws {
        try await OrderServiceHarness.run(environment: ["ORDER_PAYMENT_TIMEOUT_SECONDS": "1"]) { service in
            let listing = try await service.createListing(seller: "seller-exp", stock: 2)
            let order = try await service.placeOrder(buyer: "buyer-exp", listing: listing, quantity: 2)
            #expect(try await service.stock(of: listing) == (0, 2, 0))
            #expect(try await service.eventually { try await service.status(of: order) == "cancelled" })
            #expect(try await service.stock(of: listing) == (2, 0, 0))
            #expect(try await service.database.count("SELECT count(*) FROM outbox WHERE event_type = 'order.cancelled'") == 1)
            let reason = try await service.database.client.query(
                "SELECT reason FROM order_history WHERE to_status = 'cancelled'", logger: TestEnvironment.logger
            ).decode(String?.self).all().first ?? nil
            #expect(reason == "payment window expired")
        }
    }

    @Test func aFailedPaymentCancelsAndReleasesStock() async throws {
        try await OrderServiceHarness.run { service in
            let listing = try await service.createListing(seller: "seller-fail", stock: 2)
            let order = try await service.placeOrder(buyer: "buyer-fail", listing: listing, quantity: 1)
            let checkout = try await checkoutId(of: order, service)
            try await service.publish(
                PaymentFailed(paymentId: UUID(), checkoutId: checkout, reason: "card_declined"), topic: Topic.payments,
                aggregateId: checkout.uuidString)
            #expect(try await service.eventually { try await service.status(of: order) == "cancelled" })
            #expect(try await service.stock(of: listing) == (2, 0, 0))
        }
    }

    func checkoutId(of order: UUID, _ service: OrderServiceHarness) async throws -> UUID {
        try await service.database.client.query("SELECT checkout_id FROM orders WHERE id = \(order)", logger: TestEnvironment.logger)
            .decode(UUID.self).all()[0]
    }
}
