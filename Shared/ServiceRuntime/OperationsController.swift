import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import Logging
import Messaging
import PostgresNIO

/// Operator tools every service has (admin), for recovering events after an incident; the
/// consumers' inbox makes every replay safe to repeat:
/// - `GET /api/v1/admin/dead-letters`: what this service's consumer parked on `<topic>.dlq`;
/// - `POST /api/v1/admin/dead-letters/replay`: publishes parked messages again to the topic they
///   came from (one, by DLQ topic, partition and offset, or all of this consumer's);
/// - `POST /api/v1/admin/outbox/republish`: publishes this service's events written since a time
///   again (a broker that lost its data), as far back as outbox retention keeps them.
struct OperationsController: Sendable {
    let postgres: PostgresClient
    let producer: KafkaProducer
    let kafka: KafkaConfiguration
    let consumerName: String
    let consumedTopics: [String]
    let logger: Logger

    struct DeadLetter: ResponseEncodable, Equatable {
        var topic: String
        var partition: Int32
        var offset: Int64
        var source: String?
        var key: String?
        var eventId: String?
        var eventType: String?
        var error: String?
    }

    struct DeadLetters: ResponseEncodable {
        var items: [DeadLetter]
    }

    struct ReplayRequest: Decodable {
        var topic: String?
        var partition: Int32?
        var offset: Int64?
        var all: Bool?
    }

    struct Replayed: ResponseEncodable {
        var replayed: Int
    }

    struct RepublishRequest: Decodable {
        var since: Date
        var until: Date?
    }

    struct Republished: ResponseEncodable {
        var republished: Int
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("admin/dead-letters") { _, context in
            _ = try context.requireRole(.admin)
            return DeadLetters(items: try await deadLetters().map(\.letter))
        }
        group.post("admin/dead-letters/replay") { request, context in try await replay(request, context) }
        group.post("admin/outbox/republish") { request, context in try await republish(request, context) }
    }

    /// This consumer's parked messages on the DLQs of the topics it consumes.
    private func deadLetters() async throws -> [(letter: DeadLetter, message: ConsumedMessage)] {
        var found: [(DeadLetter, ConsumedMessage)] = []
        for topic in consumedTopics.map(Topic.deadLetter(of:)) {
            let messages: [ConsumedMessage]
            do {
                messages = try await TopicScan.read(topic, configuration: kafka, limit: 1000)
            } catch {
                throw Problem(status: .serviceUnavailable, type: "/problems/broker-unavailable", title: "Broker unavailable", detail: "Could not read \(topic).")
            }
            for message in messages where message.headers[EventHeader.dlqConsumer] == consumerName {
                found.append((
                    DeadLetter(
                        topic: message.topic, partition: message.partition, offset: message.offset,
                        source: message.headers[EventHeader.dlqSource], key: message.key, eventId: message.headers[EventHeader.eventId],
                        eventType: message.headers[EventHeader.eventType], error: message.headers[EventHeader.dlqError]),
                    message))
            }
        }
        return found
    }

    private func replay(_ request: Request, _ context: AppRequestContext) async throws -> Replayed {
        let admin = try context.requireRole(.admin)
        let body = try await decode(ReplayRequest.self, request)
        let replayAll = body.all == true
        guard replayAll || (body.topic != nil && body.partition != nil && body.offset != nil) else {
            throw Problem.validation("Give topic, partition and offset of one dead letter, or all: true.")
        }
        let chosen = try await deadLetters().filter { letter, _ in
            replayAll || (letter.topic == body.topic && letter.partition == body.partition && letter.offset == body.offset)
        }
        guard replayAll || !chosen.isEmpty else { throw Problem.notFound("No such dead letter of this service.") }
        let messages = chosen.map { letter, message in
            OutgoingMessage(
                topic: Self.sourceTopic(of: letter), key: message.key ?? "", value: message.value,
                headers: message.headers.filter { !$0.key.hasPrefix("dlq-") }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        }
        for result in await producer.send(messages) {
            if case .failure(let error) = result {
                throw Problem(status: .serviceUnavailable, type: "/problems/broker-unavailable", title: "Broker unavailable", detail: "Replay failed: \(error.message)")
            }
        }
        logger.notice("dead letters replayed by an operator", metadata: ["count": "\(messages.count)", "admin": "\(admin.id)"])
        return Replayed(replayed: messages.count)
    }

    /// The topic a parked message came from: its `dlq-source` header, else the DLQ's name less `.dlq`.
    static func sourceTopic(of letter: DeadLetter) -> String {
        if let source = letter.source, let slash = source.lastIndex(of: "/") { return String(source[..<slash]) }
        return String(letter.topic.dropLast(".dlq".count))
    }

    private func republish(_ request: Request, _ context: AppRequestContext) async throws -> Republished {
        let admin = try context.requireRole(.admin)
        let body = try await decode(RepublishRequest.self, request)
        guard Date.storableRange.contains(body.since), body.until.map(Date.storableRange.contains) ?? true else {
            throw Problem.validation("since and until must be between 1970 and 9999.")
        }
        // Marked unpublished again, the rows go out through the relay, in their original order.
        let count = try await postgres.query(
            """
            WITH again AS (
                UPDATE outbox SET published_at = NULL
                WHERE published_at IS NOT NULL AND created_at >= \(body.since)
                  AND (\(body.until)::timestamptz IS NULL OR created_at < \(body.until))
                RETURNING 1)
            SELECT count(*)::int8 FROM again
            """, logger: context.logger
        ).decode(Int64.self).all().first ?? 0
        try await postgres.query("SELECT pg_notify('outbox_' || current_schema(), '')", logger: context.logger)
        logger.notice("outbox republished by an operator", metadata: ["count": "\(count)", "since": "\(body.since)", "admin": "\(admin.id)"])
        return Republished(republished: Int(count))
    }

    private func decode<Body: Decodable>(_ type: Body.Type, _ request: Request) async throws -> Body {
        let raw = try await request.body.collect(upTo: 16 * 1024)
        do {
            return try EventCoding.decoder.decode(Body.self, from: Data(buffer: raw))
        } catch {
            throw Problem.badRequest("The body is not valid JSON of the expected shape.")
        }
    }
}
