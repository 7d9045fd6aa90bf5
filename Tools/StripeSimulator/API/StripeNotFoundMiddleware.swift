import Hummingbird

/// Unknown `/v1` URLs get Stripe's answer (`Unrecognized request URL`) instead of the router's.
struct StripeNotFoundMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && request.uri.path.hasPrefix("/v1/") {
            let failure = StripeAPIError.invalidRequest(
                "Unrecognized request URL (\(request.method.rawValue): \(request.uri.path)). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
                status: .notFound)
            return Response(
                status: .notFound, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: JSON.bytes(failure.json))))
        }
    }
}
