import HTTPTypes
import Hummingbird

/// Hummingbird's CORS middleware for an allow-list of origins read from configuration. A
/// request from any other origin (or none) passes through without CORS headers, so browsers
/// refuse it; a preflight from an allowed origin is answered 204 before authentication.
public struct AllowedOriginsCORSMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    let origins: Set<String>
    let cors: CORSMiddleware<AppRequestContext>

    public init(origins: [String]) {
        self.origins = Set(origins)
        self.cors = CORSMiddleware(
            allowOrigin: .originBased,
            allowHeaders: [.accept, .authorization, .contentType, .origin, .requestId, .idempotencyKey],
            allowMethods: [.get, .post, .patch, .head, .options],
            exposedHeaders: ["X-Request-ID", "Retry-After", "Location", "Idempotent-Replayed"],
            maxAge: .seconds(600))
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let origin = request.headers[.origin], origins.contains(origin) else {
            return try await next(request, context)
        }
        return try await cors.handle(request, context: context, next: next)
    }
}
