import EventContracts
import Foundation
import HTTPTypes
import Hummingbird

/// An RFC 9457 problem: every error a client sees is rendered as `application/problem+json`.
public struct Problem: Error, HTTPResponseError, Sendable, Equatable {
    public var status: HTTPResponse.Status
    /// A stable, documented identifier of the problem kind (relative URI, e.g. `/problems/not-found`).
    public var type: String
    public var title: String
    public var detail: String?
    /// Extra members, e.g. `currentState` for a refused transition.
    public var extensions: [String: String]

    public init(
        status: HTTPResponse.Status, type: String, title: String, detail: String? = nil,
        extensions: [String: String] = [:]
    ) {
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.extensions = extensions
    }

    public static let contentType = "application/problem+json"

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try jsonBody(instance: request.uri.path)
        var headers: HTTPFields = [.contentType: Self.contentType]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        // A problem that says when to come back says it in the standard header too.
        if let seconds = extensions["retryAfterSeconds"].flatMap(Int.init), seconds >= 0 { headers[.retryAfter] = "\(seconds)" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension Problem {
    /// The problem document as JSON bytes.
    public func jsonBody(instance: String) throws -> Data {
        var body: [String: JSONValue] = [
            "type": .string(type),
            "title": .string(title),
            "status": .integer(Int64(status.code)),
            "instance": .string(instance),
        ]
        if let detail { body["detail"] = .string(detail) }
        for (key, value) in extensions where body[key] == nil { body[key] = .string(value) }
        return try EventCoding.encoder.encode(JSONValue.object(body))
    }

    public static func badRequest(_ detail: String) -> Problem {
        Problem(status: .badRequest, type: "/problems/bad-request", title: "Bad request", detail: detail)
    }

    public static func validation(_ detail: String) -> Problem {
        Problem(status: .unprocessableContent, type: "/problems/validation", title: "Invalid request", detail: detail)
    }

    public static func unauthorized(_ detail: String) -> Problem {
        Problem(status: .unauthorized, type: "/problems/unauthorized", title: "Unauthorized", detail: detail)
    }

    public static func forbidden(_ detail: String) -> Problem {
        Problem(status: .forbidden, type: "/problems/forbidden", title: "Forbidden", detail: detail)
    }

    public static func notFound(_ detail: String) -> Problem {
        Problem(status: .notFound, type: "/problems/not-found", title: "Not found", detail: detail)
    }

    public static func conflict(_ detail: String, extensions: [String: String] = [:]) -> Problem {
        Problem(status: .conflict, type: "/problems/conflict", title: "Conflict", detail: detail, extensions: extensions)
    }

    public static func tooManyRequests(_ detail: String) -> Problem {
        Problem(status: .tooManyRequests, type: "/problems/rate-limited", title: "Too many requests", detail: detail)
    }

    public static func internalError(requestId: String) -> Problem {
        Problem(
            status: .internalServerError, type: "/problems/internal", title: "Internal server error",
            detail: "Something went wrong on our side. Quote request id \(requestId) when reporting it.",
            extensions: ["requestId": requestId])
    }
}
