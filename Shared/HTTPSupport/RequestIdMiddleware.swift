import EventContracts
import Foundation
import HTTPTypes
import Hummingbird

/// Takes the correlation id from `X-Request-ID` (when it is sane) or makes one, puts it on the
/// request's logger and echoes it on the response.
public struct RequestIdMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext

    public init() {}

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        let requestId = request.headers[.requestId].flatMap(Self.accept) ?? UUID().uuidString.lowercased()
        context.requestId = requestId
        context.logger[metadataKey: "correlation_id"] = "\(requestId)"
        var response = try await CorrelationScope.$id.withValue(requestId) { try await next(request, context) }
        response.headers[.requestId] = requestId
        return response
    }

    /// Accepts ids of 1–128 characters from a conservative set, so logs cannot be forged.
    static func accept(_ value: String) -> String? {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_.:"))
        guard (1...128).contains(value.count), value.unicodeScalars.allSatisfy({ allowed.contains($0) && $0.isASCII })
        else { return nil }
        return value
    }
}

extension HTTPField.Name {
    public static let requestId = Self("X-Request-ID")!
    public static let idempotencyKey = Self("Idempotency-Key")!
    /// Set on a response that replays the stored answer to an earlier request with the same key.
    public static let idempotentReplayed = Self("Idempotent-Replayed")!
    public static let stripeSignature = Self("Stripe-Signature")!
}
