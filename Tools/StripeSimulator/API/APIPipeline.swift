import EventContracts
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import StripeClient

/// What Stripe does around every endpoint: authentication, injected faults, form parsing and
/// validation, idempotency, and Stripe's response headers and error shape.
struct APIPipeline: Sendable {
    let idempotency: IdempotencyStore
    let faults: FaultInjector
    let logger: Logger

    func respond(_ request: Request, _ context: BasicRequestContext, schema: ParameterSchema, handler: APIHandler) async -> Response {
        let requestId = Identifiers.make("req", length: 14)
        let key = request.headers[.idempotencyKey]
        var headers: HTTPFields = [.contentType: "application/json", .requestId: requestId]
        if let key { headers[.idempotencyKey] = key }
        headers[.stripeVersion] = request.headers[.stripeVersion] ?? StripeClient.pinnedVersion
        var answer: StoredResponse
        do {
            try Authentication.check(request.headers[.authorization])
            let decision = faults.decide(method: request.method.rawValue, path: request.uri.path)
            try await failEarly(decision, path: request.uri.path)
            let (call, form) = try await parse(request, context, schema: schema)
            let origin = RequestOrigin(id: requestId, idempotencyKey: key)
            if request.method == .post, let key {
                let fingerprint = IdempotencyStore.Fingerprint(endpoint: "POST \(request.uri.path)", parameters: form.canonical)
                let (stored, replayed) = try await idempotently(key: key, scope: call.account ?? "platform", fingerprint: fingerprint) {
                    try await execute(call, origin: origin, latency: decision.latency, handler: handler)
                }
                answer = stored
                if replayed { headers[.idempotentReplayed] = "true" }
            } else {
                answer = try await execute(call, origin: origin, latency: decision.latency, handler: handler).response
            }
            if case .lostAnswer(let hang) = decision.outcome {
                logger.info("fault: lost_answer (done, answering late)", metadata: ["path": "\(request.uri.path)", "hang": "\(hang)"])
                try await Self.hang(hang)
            }
        } catch let error as StripeAPIError {
            answer = StoredResponse(status: error.status, body: JSON.bytes(error.json))
        } catch is CancellationError {
            answer = Self.failure(.apiError("The simulator is shutting down.", status: .serviceUnavailable))
        } catch {
            answer = Self.failure(.invalidRequest("The request body could not be read: \(error)"))
        }
        return Response(status: answer.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }

    /// The faults that answer without doing anything: `server_error` at once, `timeout` after hanging.
    private func failEarly(_ decision: FaultDecision, path: String) async throws {
        switch decision.outcome {
        case .serverError:
            logger.info("fault: server_error", metadata: ["path": "\(path)"])
            throw StripeAPIError.apiError("An unknown error occurred (injected by the simulator's fault plan).")
        case .timeout(let hang):
            logger.info("fault: timeout", metadata: ["path": "\(path)", "hang": "\(hang)"])
            try await Self.hang(hang)
            throw StripeAPIError.apiError("The request timed out (injected by the simulator's fault plan).", status: .gatewayTimeout)
        case .normal, .lostAnswer: break
        }
    }

    /// The form (query string for GET, body otherwise), checked against the endpoint's schema.
    private func parse(
        _ request: Request, _ context: BasicRequestContext, schema: ParameterSchema
    ) async throws -> (APICall, FormValue) {
        var request = request
        let text = request.method == .get ? (request.uri.query ?? "") : String(buffer: try await request.collectBody(upTo: 1 << 20))
        let form: FormValue
        do {
            form = try FormValue.parse(text)
        } catch {
            throw StripeAPIError.invalidParameter(error.parameter, error.message, code: nil)
        }
        try schema.validate(form, name: "")
        var path: [String: String] = [:]
        for (name, value) in context.parameters { path[String(name)] = String(value) }
        return (APICall(parameters: FormParameters(form), account: request.headers[.stripeAccount], path: path), form)
    }

    /// Runs `body` once per key: a retry gets the stored answer, a conflicting use is refused.
    private func idempotently(
        key: String, scope: String, fingerprint: IdempotencyStore.Fingerprint,
        _ body: () async throws -> (response: StoredResponse, keep: Bool)
    ) async throws -> (StoredResponse, replayed: Bool) {
        guard key.count <= 255 else {
            throw StripeAPIError.invalidParameter("Idempotency-Key", "Idempotency keys are up to 255 characters long.", code: nil)
        }
        switch idempotency.admit(key: key, scope: scope, fingerprint: fingerprint) {
        case .refused(let error): throw error
        case .replay(let response): return (response, true)
        case .proceed:
            do {
                let (response, keep) = try await body()
                if keep { idempotency.finish(key: key, scope: scope, with: response) } else { idempotency.abandon(key: key, scope: scope) }
                return (response, false)
            } catch {
                idempotency.abandon(key: key, scope: scope)  // cancelled before the endpoint ran
                throw error
            }
        }
    }

    /// Runs the endpoint; the answer is to be kept for the idempotency key unless the request
    /// was refused before the endpoint began (a validation error). Injected latency is spent
    /// here, while the key is held, so a concurrent retry sees `idempotency_key_in_use`.
    private func execute(
        _ call: APICall, origin: RequestOrigin, latency: Duration, handler: APIHandler
    ) async throws -> (response: StoredResponse, keep: Bool) {
        if latency > .zero { try await Task.sleep(for: latency) }
        do {
            let json = try await RequestOrigin.$current.withValue(origin) { try await handler(call) }
            return (StoredResponse(status: .ok, body: JSON.bytes(json)), true)
        } catch let error as StripeAPIError {
            return (StoredResponse(status: error.status, body: JSON.bytes(error.json)), !error.beforeExecution)
        } catch {
            logger.error("endpoint failed", metadata: ["error": "\(error)"])
            return (Self.failure(.apiError("An unknown error occurred in the simulator: \(error)")), true)
        }
    }

    /// Waits out an injected hang, but not a shutdown: SIGTERM ends it at once.
    private static func hang(_ duration: Duration) async throws {
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
    }

    private static func failure(_ error: StripeAPIError) -> StoredResponse {
        StoredResponse(status: error.status, body: JSON.bytes(error.json))
    }
}
