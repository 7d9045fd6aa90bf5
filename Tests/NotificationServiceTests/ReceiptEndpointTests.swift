import EventContracts
import Foundation
import Testing
import TestSupport

@testable import NotificationService

@Suite struct ReceiptEndpointTests {
    /// Issues a receipt for a one-order payment and returns its id once it is complete: the two
    /// events travel on different topics, so the payment may come before the order's lines are
    /// known, and the receipt is emailed only when they are.
    func paidReceipt(_ service: ServiceHarness, _ fixture: Fixture, _ order: OrderSnapshot) async throws -> String {
        try await service.publishOrder("order.placed", order)
        try await service.publish(fixture.payment([order]), topic: Topic.payments, aggregateId: fixture.checkoutId.uuidString)
        #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM receipts WHERE emailed") == 1 })
        return try await service.database.client.query("SELECT id FROM receipts", logger: TestEnvironment.logger)
            .decode(UUID.self).all()[0].uuidString.lowercased()
    }

    @Test func theReceiptPDFParsesAndShowsTheOrderNumberAndTotal() async throws {
        try await ServiceHarness.notifications { service in
            let fixture = Fixture()
            let order = fixture.order()
            let id = try await paidReceipt(service, fixture, order)
            let reply = try await service.call(.get, "/api/v1/receipts/\(id)/pdf", as: fixture.buyer, roles: ["buyer"])
            #expect(reply.status == .ok)
            #expect(reply.headers[.contentType] == "application/pdf")
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(id).pdf")
            try reply.body.write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let text = try pdftotext(file)
            #expect(text.contains("Receipt R-"))
            #expect(text.contains("Order \(order.orderNumber)"))
            #expect(text.contains("Total paid: $1,234.56"))
            #expect(text.contains("2 x Brass lamp @ $17.28 = $34.56"))
        }
    }

    @Test func theReceiptIsForTheBuyerAndAdminsOnlyAndShowsRefunds() async throws {
        try await ServiceHarness.notifications { service in
            let fixture = Fixture()
            let order = fixture.order()
            let id = try await paidReceipt(service, fixture, order)
            let paymentId = try await service.database.client.query("SELECT payment_id FROM receipts", logger: TestEnvironment.logger)
                .decode(UUID.self).all()[0]
            try await service.publish(
                RefundSucceeded(refundId: UUID(), paymentId: paymentId, orderId: order.orderId, amount: 34_56, currency: "usd", orderFullyRefunded: false),
                topic: Topic.payments, aggregateId: paymentId.uuidString)
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM receipt_refunds") == 1 })

            let mine = try await service.call(.get, "/api/v1/receipts/\(id)", as: fixture.buyer, roles: ["buyer"])
            #expect(mine.status == .ok)
            let json = try mine.json()
            #expect((json["receiptNumber"] as? String)?.hasPrefix("R-") == true)
            #expect(json["totalAmount"] as? Int == 123_456)
            #expect(json["refundedAmount"] as? Int == 3456)
            #expect(json["netAmount"] as? Int == 120_000)
            #expect((json["lines"] as? [Any])?.count == 2)
            #expect(try await service.call(.get, "/api/v1/receipts/\(id)", as: "ops", roles: ["admin"]).status == .ok)

            for path in ["/api/v1/receipts/\(id)", "/api/v1/receipts/\(id)/pdf", "/api/v1/receipts/not-a-uuid"] {
                let other = try await service.call(.get, path, as: "someone-else", roles: ["buyer"])
                #expect(other.status == .notFound)
                #expect(other.headers[.contentType] == "application/problem+json")
            }
        }
    }

    /// A buyer lists their own receipts, newest first, a page at a time; nobody else's appear,
    /// and an admin sees everyone's (or one buyer's).
    @Test func buyersListTheirOwnReceiptsNewestFirstAndAdminsListAll() async throws {
        try await ServiceHarness.notifications { service in
            let mine = Fixture()
            let theirs = Fixture()
            for _ in 0..<3 {
                let order = mine.order()
                try await service.publishOrder("order.placed", order)
                try await service.publish(mine.payment([order]), topic: Topic.payments, aggregateId: UUID().uuidString)
            }
            let other = theirs.order()
            try await service.publishOrder("order.placed", other)
            try await service.publish(theirs.payment([other]), topic: Topic.payments, aggregateId: UUID().uuidString)
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM receipts") == 4 })

            let first = try await service.call(.get, "/api/v1/receipts?limit=2", as: mine.buyer, roles: ["buyer"])
            #expect(first.status == .ok)
            let firstItems = try #require(try first.json()["items"] as? [[String: Any]])
            let cursor = try #require(try first.json()["nextCursor"] as? String)
            let second = try await service.call(.get, "/api/v1/receipts?limit=2&cursor=\(cursor)", as: mine.buyer, roles: ["buyer"])
            let secondItems = try #require(try second.json()["items"] as? [[String: Any]])
            #expect(try second.json()["nextCursor"] == nil)
            let numbers = (firstItems + secondItems).compactMap { $0["receiptNumber"] as? String }
            #expect(numbers.count == 3)
            #expect(numbers == numbers.sorted(by: >), "newest first: \(numbers)")
            #expect((firstItems + secondItems).allSatisfy { $0["buyerId"] as? String == mine.buyer && $0["orderCount"] as? Int == 1 })
            #expect(firstItems.first?["totalAmount"] as? Int == 123_456 && firstItems.first?["netAmount"] as? Int == 123_456)

            let everyone = try await service.call(.get, "/api/v1/receipts?as=admin", as: "ops", roles: ["admin"])
            #expect((try everyone.json()["items"] as? [Any])?.count == 4)
            let one = try await service.call(.get, "/api/v1/receipts?as=admin&buyerId=\(theirs.buyer)", as: "ops", roles: ["admin"])
            #expect((try one.json()["items"] as? [[String: Any]])?.map { $0["buyerId"] as? String } == [theirs.buyer])

            #expect(try await service.call(.get, "/api/v1/receipts?as=admin", as: mine.buyer, roles: ["buyer"]).status == .forbidden)
            #expect(try await service.call(.get, "/api/v1/receipts?buyerId=\(theirs.buyer)", as: mine.buyer, roles: ["buyer"]).status == .badRequest)
            #expect(try await service.call(.get, "/api/v1/receipts?cursor=MS5hYmM", as: mine.buyer, roles: ["buyer"]).status == .badRequest)
            let nobody = try await service.call(.get, "/api/v1/receipts", as: "someone-else", roles: ["buyer"])
            #expect((try nobody.json()["items"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func receiptNumbersAreSequentialWithoutGaps() async throws {
        try await ServiceHarness.notifications { service in
            let fixture = Fixture()
            let orders = (0..<5).map { _ in fixture.order() }
            for order in orders {
                try await service.publishOrder("order.placed", order)
                try await service.publish(fixture.payment([order]), topic: Topic.payments, aggregateId: UUID().uuidString)
            }
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM receipts") == 5 })
            let numbers = try await service.database.client.query("SELECT number FROM receipts ORDER BY number", logger: TestEnvironment.logger)
                .decode(Int64.self).all()
            #expect(numbers == [1, 2, 3, 4, 5])
        }
    }

    func pdftotext(_ file: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["pdftotext", file.path, "-"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw HarnessError("pdftotext failed with \(process.terminationStatus)") }
        return String(decoding: data, as: UTF8.self)
    }
}
