import AsyncHTTPClient
import EventContracts
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import StripeClient
import Synchronization
import TestSupport

/// A webhook endpoint for tests: a Hummingbird server on a free port that checks each
/// delivery's `Stripe-Signature` and keeps the events it accepted. It can refuse the first
/// deliveries, to exercise the simulator's retries, or hold its answer to the first for a while.
final class WebhookReceiver: Sendable {
    struct Delivery: Sendable {
        var event: StripeEvent
        var json: JSONValue
        var signatureValid: Bool
    }

    /// What the endpoint has seen; shared with its route handler.
    private final class Inbox: Sendable {
        let state: Mutex<(deliveries: [Delivery], refusalsLeft: Int, arrivals: [String])>
        init(refusals: Int) { state = Mutex(([], refusals, [])) }

        /// Notes a delivery as it arrives; true for the first.
        func arrived(_ eventId: String) -> Bool {
            state.withLock { state in
                state.arrivals.append(eventId)
                return state.arrivals.count == 1
            }
        }
        var arrivals: [String] { state.withLock { $0.arrivals } }

        /// Whether to refuse this delivery (while refusals are left).
        func refuse() -> Bool {
            state.withLock { state in
                guard state.refusalsLeft > 0 else { return false }
                state.refusalsLeft -= 1
                return true
            }
        }

        func record(_ delivery: Delivery) { state.withLock { $0.deliveries.append(delivery) } }
        var deliveries: [Delivery] { state.withLock { $0.deliveries } }
    }

    let url: String
    private let inbox: Inbox
    private let group: ServiceGroup

    init(secret: String, refuseFirst refusals: Int = 0, holdFirst hold: Duration = .zero) async throws {
        let port = try TestEnvironment.reservePorts(1)[0]
        url = "http://127.0.0.1:\(port)/webhook"
        let inbox = Inbox(refusals: refusals)
        self.inbox = inbox
        let router = Router()
        router.post("/webhook") { request, _ -> Response in
            var request = request
            let body = Array((try await request.collectBody(upTo: 1 << 20)).readableBytesView)
            if inbox.refuse() { return Response(status: .serviceUnavailable) }
            let valid = (try? StripeSignature.verify(payload: body, header: request.headers[.stripeSignature], secrets: [secret])) != nil
            let event = try JSONDecoder().decode(StripeEvent.self, from: Data(body))
            if inbox.arrived(event.id), hold > .zero { try await Task.sleep(for: hold) }
            let json = try JSONDecoder().decode(JSONValue.self, from: Data(body))
            inbox.record(Delivery(event: event, json: json, signatureValid: valid))
            return Response(status: valid ? .ok : .badRequest)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "webhook-receiver")))
        self.group = group
        Task { try await group.run() }
        // Ready when it answers at all (a GET is a 404 here).
        for _ in 0..<200 {
            if (try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/"), timeout: .seconds(1))) != nil {
                return
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw SimulatorHarnessError("the webhook receiver did not start")
    }

    func stop() async { await group.triggerGracefulShutdown() }

    var deliveries: [Delivery] { inbox.deliveries }
    /// The ids of the events delivered, as their requests arrived (before any answer).
    var arrivals: [String] { inbox.arrivals }

    /// Waits for an event of `type` (matching `where`), up to `limit`.
    func event(
        _ type: String, within limit: Duration = .seconds(5), where matches: @Sendable (Delivery) -> Bool = { _ in true }
    ) async throws -> Delivery? {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let found = deliveries.first(where: { $0.event.type == type && matches($0) }) { return found }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }
}

extension HTTPField.Name {
    static let stripeSignature = Self("Stripe-Signature")!
}
