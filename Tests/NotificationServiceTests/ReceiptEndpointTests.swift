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
