import AsyncHTTPClient
import Foundation
import HTTPSupport
import HTTPTypes
import Hummingbird
import NIOCore

/// Forwards `/api/<service>/<path>` to `<service URL>/api/v1/<path>`, so the pages are
/// same-origin and need no CORS. The service is named in the path because several routes
/// (`whoami`, `admin/dead-letters`, `admin/outbox`, `admin/gateway-commands`) exist on more than
/// one service. Only `/api/v1` is reachable: never `/metrics` or anything else a service serves.
struct APIProxy: Sendable {
    let upstreams: [String: String]
    let client: HTTPClient
    let timeout: Duration

    static let maximumBody = 1 << 20
    static let maximumResponse = 16 << 20
    static let requestHeaders: [HTTPField.Name] = [
        .authorization, .contentType, .accept, HTTPField.Name("Idempotency-Key")!, HTTPField.Name("X-Request-ID")!,
    ]
    static let responseHeaders: [HTTPField.Name] = [
        .contentType, .contentDisposition, .retryAfter, HTTPField.Name("Idempotent-Replayed")!,
        HTTPField.Name("X-Request-ID")!,
    ]

    func addRoutes(to router: Router<BasicRequestContext>) {
        for method in [HTTPRequest.Method.get, .post, .patch, .put, .delete] {
            router.on("api/{service}/**", method: method) { request, context in
                try await forward(request, context: context)
            }
        }
    }

    /// The upstream URL for a console path and query, nil when the path is not one to forward.
    static func upstreamURL(base: String, rest: String, query: String?) -> String? {
        let segments = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard !rest.isEmpty, !segments.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) else { return nil }
        return base + "/api/v1/" + rest + (query.map { $0.isEmpty ? "" : "?" + $0 } ?? "")
    }

    func forward(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let service = context.parameters.get("service") ?? ""
        guard let base = upstreams[service] else {
            throw Problem.notFound("No service called '\(service)'; use one of \(upstreams.keys.sorted().joined(separator: ", ")).")
        }
        let prefix = "/api/\(service)/"
        let path = request.uri.path
        guard path.hasPrefix(prefix),
              let url = Self.upstreamURL(base: base, rest: String(path.dropFirst(prefix.count)), query: request.uri.query)
        else { throw Problem.notFound("No such API path.") }

        var upstream = HTTPClientRequest(url: url)
        upstream.method = .init(rawValue: request.method.rawValue)
        for name in Self.requestHeaders {
            if let value = request.headers[name] { upstream.headers.add(name: name.rawName, value: value) }
        }
        if request.method != .get && request.method != .head {
            let body = try await request.body.collect(upTo: Self.maximumBody)
            upstream.body = .bytes(body)
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await client.execute(upstream, timeout: .seconds(Int64(timeout.components.seconds)))
            bytes = try await response.body.collect(upTo: Self.maximumResponse)
        } catch {
            context.logger.warning("upstream unreachable", metadata: ["service": "\(service)", "error": "\(error)"])
            throw Problem(
                status: .badGateway, type: "/problems/upstream-unavailable", title: "Service unavailable",
                detail: "The \(service) service did not answer. Try again in a moment.")
        }
        var headers = HTTPFields()
        for name in Self.responseHeaders {
            if let value = response.headers.first(name: name.rawName) { headers[name] = value }
        }
        headers[.cacheControl] = "no-store"
        return Response(status: .init(code: Int(response.status.code)), headers: headers, body: .init(byteBuffer: bytes))
    }
}
