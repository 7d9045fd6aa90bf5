import Foundation
import Hummingbird

/// Renders every error as problem+json: our `Problem`s as they are, Hummingbird's own HTTP
/// errors with their status, undecodable bodies as 400, anything else as a logged 500 that
/// reveals nothing about its cause.
public struct ProblemMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext

    public init() {}

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return try problem.response(from: request, context: context)
        } catch let error as HTTPError {
            return try Problem(
                status: error.status, type: "/problems/http-\(error.status.code)",
                title: error.status.reasonPhrase, detail: error.body
            ).response(from: request, context: context)
        } catch let error as DecodingError {
            return try Problem.badRequest("The request body is not valid: \(Self.describe(error))")
                .response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            return try Problem(
                status: error.status, type: "/problems/http-\(error.status.code)", title: error.status.reasonPhrase
            ).response(from: request, context: context)
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            return try Problem.internalError(requestId: context.requestId).response(from: request, context: context)
        }
    }

    /// Names the offending field without echoing the client's data back.
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.isEmpty ? "body" : codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing field \(path(context.codingPath + [key]))"
        case .typeMismatch(_, let context): return "wrong type at \(path(context.codingPath))"
        case .valueNotFound(_, let context): return "missing value at \(path(context.codingPath))"
        case .dataCorrupted(let context): return "malformed value at \(path(context.codingPath))"
        @unknown default: return "malformed body"
        }
    }
}
