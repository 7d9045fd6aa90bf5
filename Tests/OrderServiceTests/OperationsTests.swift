import EventContracts
import Foundation
import Messaging
import Testing
import TestSupport

@testable import OrderService

/// The replay tools an operator uses after an incident, against a running service.
@Suite struct OperationsTests {
    @Test func aDeadLetterIsListedAndReplayedToItsSourceTopic() async throws {
        try await ServiceHarness.run(.orderService, topics: [Topic.orders, Topic.payments, Topic.escrow]) { service in
            let producer = try KafkaProducer(configuration: TestEnvironment.kafka())
            defer { producer.shutdown() }
            // Bytes that are no envelope: poison, parked at once.
            let sent = await producer.send([OutgoingMessage(topic: service.topicPrefix + Topic.payments, key: "k", value: Array("{garbage".utf8))])
            try sent[0].get()
            var letters: [[String: Any]] = []
            #expect(try await service.eventually {
                letters = try await service.call(.get, "/api/v1/admin/dead-letters", as: "admin-1", roles: ["admin"]).json()["items"] as? [[String: Any]] ?? []
                return letters.count == 1
            })
            let letter = try letters.first.orThrow("dead letter")
            #expect(letter["topic"] as? String == service.topicPrefix + Topic.deadLetter(of: Topic.payments))
            #expect((letter["source"] as? String)?.hasPrefix(service.topicPrefix + Topic.payments + "/") == true)
            #expect((letter["error"] as? String)?.contains("undecodable") == true)
            #expect(try await service.call(.get, "/api/v1/admin/dead-letters", as: "seller-1", roles: ["seller"]).status == .forbidden)

            let body: JSONValue = [
                "topic": .string(letter["topic"] as? String ?? ""), "partition": .integer(Int64(letter["partition"] as? Int ?? -1)),
                "offset": .integer(Int64(letter["offset"] as? Int ?? -1)),
            ]
            let replay = try await service.call(.post, "/api/v1/admin/dead-letters/replay", as: "admin-1", roles: ["admin"], body: body)
            #expect(replay.status == .ok, "\(replay.text)")
            #expect(try replay.json()["replayed"] as? Int == 1)
            // Back on its source topic, the consumer reads it again (and parks it again: still garbage).
            #expect(try await service.eventually {
                try await service.call(.get, "/api/v1/admin/dead-letters", as: "admin-1", roles: ["admin"]).json()["items"].map { ($0 as? [Any])?.count } == 2
            })
            let missing: JSONValue = ["topic": "nope.dlq", "partition": 0, "offset": 0]
            #expect(try await service.call(.post, "/api/v1/admin/dead-letters/replay", as: "admin-1", roles: ["admin"], body: missing).status == .notFound)
            #expect(try await service.call(.post, "/api/v1/admin/dead-letters/replay", as: "admin-1", roles: ["admin"], body: [:] as JSONValue).status == .unprocessableContent)
        }
    }

    @Test func theOutboxSinceATimeIsPublishedAgainInOrder() async throws {
        try await ServiceHarness.run(.orderService, topics: [Topic.orders, Topic.payments, Topic.escrow]) { service in
            let start = Date().addingTimeInterval(-1)
            let listing = try await service.createListing(seller: "seller-ops")
            _ = try await service.placeOrder(buyer: "buyer-ops", listing: listing)
            let written = try await service.database.count("SELECT count(*) FROM outbox")
            #expect(written >= 2)
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0 })
            let firstPublished = try await service.database.client.query(
                "SELECT max(published_at) FROM outbox", logger: TestEnvironment.logger
            ).decode(Date.self).all()[0]

            let reply = try await service.call(
                .post, "/api/v1/admin/outbox/republish", as: "admin-1", roles: ["admin"],
                body: ["since": .string(ISO8601DateFormatter().string(from: start))] as JSONValue)
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(try reply.json()["republished"] as? Int == written)
            #expect(try await service.eventually {
                try await service.database.count("SELECT count(*) FROM outbox WHERE published_at > \(firstPublished)") == written
            })
            let bad = try await service.call(
                .post, "/api/v1/admin/outbox/republish", as: "admin-1", roles: ["admin"], body: ["since": "0001-01-01T00:00:00Z"] as JSONValue)
            #expect(bad.status == .unprocessableContent)
        }
    }
}
