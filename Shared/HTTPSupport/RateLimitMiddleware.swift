import EventContracts
import Foundation
import HTTPTypes
import Hummingbird

/// Limits the listed routes (e.g. `POST /api/v1/payments/confirm`) per authenticated user;
/// a refused request gets 429 problem+json with `Retry-After` in whole seconds. Goes after
/// the auth middleware; other routes pass untouched.
public struct RateLimitMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    let limiter: RateLimiter
    let routes: Set<String>

    /// - Parameter routes: `"<METHOD> <route pattern>"`, as the router names them.
    public init(limiter: RateLimiter, routes: Set<String>) {
        self.limiter = limiter
        self.routes = routes
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let route = context.endpointPath, routes.contains("\(request.method.rawValue) \(route)"),
              let user = context.user
        else { return try await next(request, context) }
        guard let wait = limiter.acquire(user.id) else { return try await next(request, context) }
        let seconds = max(1, Int64(wait.inSeconds.rounded(.up)))
        context.logger.warning("rate limited", metadata: ["route": "\(route)", "retry_after": "\(seconds)"])
        var problem = Problem.tooManyRequests(
            "Too many requests: at most \(limiter.limit.perMinute) a minute (bursts of \(limiter.limit.burst)). Retry in \(seconds) s.")
        // Rendered as the Retry-After header too, like every problem that says when to retry.
        problem.extensions["retryAfterSeconds"] = "\(seconds)"
        return try problem.response(from: request, context: context)
    }
}
