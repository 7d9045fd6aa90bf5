import EventContracts
import Foundation
import Hummingbird

/// The control API under `/_sim/` (no authentication): the fault plan, run-time webhook
/// settings, deterministic triggers for what Stripe does on its own, a summary for
/// assertions, and a reset.
struct ControlRoutes: Sendable {
    let state: SimulatorState
    let faults: FaultInjector
    let idempotency: IdempotencyStore
    let outbox: WebhookOutbox

    struct ConfigUpdate: Decodable {
        /// An empty string stops webhook delivery.
        var webhookUrl: String?
        var webhookSecret: String?
        /// As a Stripe endpoint's `enabled_events`: `["*"]` for every type.
        var enabledEvents: [String]?
    }

    struct DisputeRequest: Decodable {
        var charge: String
        var amount: Int64?
        var reason: String?
    }

    struct CloseRequest: Decodable { var status: String }
    struct RefundFailure: Decodable { var failureReason: String? }
    struct PayoutFailure: Decodable { var failureCode: String? }
    struct Onboarding: Decodable { var failingBank: Bool? }

    func register(on router: Router<BasicRequestContext>) {
        let control = router.group("/_sim")
        control.get("health") { _, _ in Self.json(["status": "ok"]) }
        control.get("faults") { _, _ in try Self.json(encoding: faults.document) }
        control.put("faults") { request, _ in
            await Self.respond {
                let document: FaultDocument = try await Self.decode(request)
                let problems = document.problems
                guard problems.isEmpty else { throw StripeAPIError.invalidRequest(problems.joined(separator: "; ")) }
                faults.replace(with: document)
                return try JSONValue(encoding: faults.document)
            }
        }
        control.delete("faults") { _, _ in
            faults.clear()
            return try Self.json(encoding: faults.document)
        }
        control.get("config") { _, _ in Self.json(configJSON) }
        control.put("config") { request, _ in
            await Self.respond {
                let update: ConfigUpdate = try await Self.decode(request)
                var endpoint = outbox.endpoint
                if let url = update.webhookUrl { endpoint.url = url.isEmpty ? nil : url }
                if let secret = update.webhookSecret {
                    guard !secret.isEmpty else { throw StripeAPIError.invalidRequest("webhookSecret must not be empty") }
                    endpoint.secret = secret
                }
                if let events = update.enabledEvents {
                    do {
                        endpoint.enabledEvents = try WebhookEndpoint.enabledEvents(events)
                    } catch {
                        throw StripeAPIError.invalidRequest("enabledEvents: \(error)", param: "enabledEvents")
                    }
                }
                outbox.endpoint = endpoint
                return configJSON
            }
        }
        control.get("state") { _, _ in Self.json(await state.summary()) }
        control.post("reset") { _, _ in
            await state.reset()
            idempotency.removeAll()
            faults.clear()
            return Self.json(["reset": true])
        }

        control.post("refunds/{id}/fail") { request, context in
            await Self.respond {
                let body: RefundFailure = try await Self.decode(request, emptyAs: RefundFailure(failureReason: nil))
                return try await state.failRefund(try context.parameters.require("id"), reason: body.failureReason ?? "expired_or_canceled_card")
            }
        }
        control.post("payouts/{id}/fail") { request, context in
            await Self.respond {
                let body: PayoutFailure = try await Self.decode(request, emptyAs: PayoutFailure(failureCode: nil))
                return try await state.failPayout(try context.parameters.require("id"), failureCode: body.failureCode ?? "account_closed")
            }
        }
        control.post("accounts/{id}/restrict") { _, context in
            await Self.respond { try await state.restrict(try context.parameters.require("id")) }
        }
        control.post("accounts/{id}/onboard") { request, context in
            await Self.respond {
                let body: Onboarding = try await Self.decode(request, emptyAs: Onboarding(failingBank: nil))
                return try await state.onboard(try context.parameters.require("id"), failingBank: body.failingBank ?? false)
            }
        }
        control.post("disputes") { request, _ in
            await Self.respond {
                let body: DisputeRequest = try await Self.decode(request)
                return try await state.openDispute(charge: body.charge, amount: body.amount, reason: body.reason ?? "fraudulent")
            }
        }
        control.post("disputes/{id}/close") { request, context in
            await Self.respond {
                let body: CloseRequest = try await Self.decode(request)
                guard body.status == "won" || body.status == "lost" else {
                    throw StripeAPIError.invalidRequest("status must be won or lost", param: "status")
                }
                return try await state.closeDispute(try context.parameters.require("id"), status: body.status)
            }
        }
    }

    private var configJSON: JSONValue {
        let endpoint = outbox.endpoint
        return [
            "webhookUrl": endpoint.url.json, "webhookSecretSet": .bool(!endpoint.secret.isEmpty),
            "enabledEvents": .array((endpoint.enabledEvents.map { $0.sorted() } ?? ["*"]).map { .string($0) }),
        ]
    }

    /// Runs a control action; Stripe-shaped errors keep their status, bad JSON is a 400.
    private static func respond(_ action: () async throws -> JSONValue) async -> Response {
        do {
            return json(try await action())
        } catch let error as StripeAPIError {
            return json(error.json, status: error.status)
        } catch {
            return json(StripeAPIError.invalidRequest("\(error)").json, status: .badRequest)
        }
    }

    private static func decode<Body: Decodable>(_ request: Request, emptyAs empty: Body? = nil) async throws -> Body {
        var request = request
        let buffer = try await request.collectBody(upTo: 1 << 20)
        if buffer.readableBytes == 0, let empty { return empty }
        return try JSONDecoder().decode(Body.self, from: Data(buffer.readableBytesView))
    }

    private static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: JSON.bytes(value))))
    }

    private static func json<Value: Encodable>(encoding value: Value) throws -> Response {
        json(try JSONValue(encoding: value))
    }
}
