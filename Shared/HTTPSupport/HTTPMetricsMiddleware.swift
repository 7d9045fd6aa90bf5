import Hummingbird
import Metrics

/// Counts requests and records their latency by route pattern (e.g. `/api/v1/orders/{id}`, never
/// the raw path, so that scanners cannot create unbounded series), method and status.
public struct HTTPMetricsMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    let factory: any MetricsFactory

    /// - Parameter factory: where the metrics go (the service's own Prometheus registry).
    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            record(request, context: context, status: response.status, since: start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            record(request, context: context, status: status, since: start)
            throw error
        }
    }

    private func record(_ request: Request, context: Context, status: HTTPResponse.Status, since start: ContinuousClock.Instant) {
        let route = context.endpointPath ?? "unmatched"
        let method = request.method.rawValue
        Counter(
            label: "http_requests_total", dimensions: [("method", method), ("route", route), ("status", "\(status.code)")],
            factory: factory
        ).increment()
        Metrics.Timer(label: "http_request_duration_seconds", dimensions: [("method", method), ("route", route)], factory: factory)
            .recordInterval(since: start)
    }
}

extension Metrics.Timer {
    fileprivate func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
