import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Stripe's REST API over AsyncHTTPClient: form-encoded bodies, a pinned API version, an
/// `Idempotency-Key` on every POST, `Stripe-Account` for calls on a connected account, and
/// retries (with the same key) only where they are safe.
public struct StripeClient: Sendable {
    public struct Configuration: Sendable {
        public var secretKey: String
        /// `https://api.stripe.com` or a local fake such as localstripe.
        public var baseURL: String
        public var apiVersion: String
        public var timeout: TimeAmount
        public var retry: StripeRetryPolicy

        public init(
            secretKey: String, baseURL: String = "https://api.stripe.com", apiVersion: String = StripeClient.pinnedVersion,
            timeout: TimeAmount = .seconds(30), retry: StripeRetryPolicy = .init()
        ) {
            self.secretKey = secretKey
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.apiVersion = apiVersion
            self.timeout = timeout
            self.retry = retry
        }
    }

    /// The API version every request asks for, so Stripe's answers keep the shapes we decode.
    public static let pinnedVersion = "2025-08-27.basil"

    let configuration: Configuration
    let http: HTTPClient
    let logger: Logger

    /// The process's connections to Stripe. `HTTPClient.shared` keeps at most 8 per host, so
    /// with Stripe answering in 300-1,500 ms a service could not make more than a few dozen
    /// calls a second however many requests wait; this one keeps up to 64 (Stripe allows 100
    /// requests a second in live mode). A global, so it lives as long as the process and is never
    /// shut down.
    public static let sharedHTTP: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    public init(configuration: Configuration, http: HTTPClient = StripeClient.sharedHTTP, logger: Logger) {
        self.configuration = configuration
        self.http = http
        self.logger = logger
    }

    /// POSTs a form; `idempotencyKey` must be derived from our own record (and attempt), never random.
    public func post<Object: Decodable>(
        _ path: String, _ fields: [(String, StripeFormValue)], idempotencyKey: String, account: String? = nil,
        as type: Object.Type = Object.self
    ) async throws(StripeError) -> Object {
        try await send(.POST, path, body: StripeForm.encode(fields), idempotencyKey: idempotencyKey, account: account)
    }

    public func get<Object: Decodable>(
        _ path: String, account: String? = nil, as type: Object.Type = Object.self
    ) async throws(StripeError) -> Object {
        try await send(.GET, path, body: nil, idempotencyKey: nil, account: account)
    }

    private func send<Object: Decodable>(
        _ method: HTTPMethod, _ path: String, body: String?, idempotencyKey: String?, account: String?
    ) async throws(StripeError) -> Object {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await once(method, path, body: body, idempotencyKey: idempotencyKey, account: account)
            } catch {
                // A caller that gave up (e.g. a command past its time limit) gets no more attempts.
                guard !Task.isCancelled, let delay = configuration.retry.delay(after: error, attempt: attempt) else { throw error }
                logger.warning(
                    "stripe call failed; retrying",
                    metadata: ["path": "\(path)", "attempt": "\(attempt)", "error": "\(error.kind.rawValue)", "retry_in": "\(delay)"])
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    throw StripeError(kind: .connection, message: "cancelled before retrying \(path)")
                }
            }
        }
    }

    private func once<Object: Decodable>(
        _ method: HTTPMethod, _ path: String, body: String?, idempotencyKey: String?, account: String?
    ) async throws(StripeError) -> Object {
        var request = HTTPClientRequest(url: configuration.baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(configuration.secretKey)")
        request.headers.add(name: "Stripe-Version", value: configuration.apiVersion)
        if let idempotencyKey { request.headers.add(name: "Idempotency-Key", value: idempotencyKey) }
        if let account { request.headers.add(name: "Stripe-Account", value: account) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let status: Int
        let bytes: [UInt8]
        let requestId: String?
        do {
            let response = try await http.execute(request, timeout: configuration.timeout)
            status = Int(response.status.code)
            requestId = response.headers.first(name: "Request-Id")
            bytes = Array(buffer: try await response.body.collect(upTo: 4 * 1024 * 1024))
        } catch {
            throw StripeError(kind: .connection, message: "\(error)")
        }
        guard (200..<300).contains(status) else {
            throw StripeError.from(status: status, body: bytes, requestId: requestId)
        }
        do {
            return try JSONDecoder().decode(Object.self, from: Data(bytes))
        } catch {
            throw StripeError(kind: .api, httpStatus: status, message: "unexpected response shape: \(error)", requestId: requestId)
        }
    }
}
