import EventContracts
import Foundation
import Hummingbird

/// The request context of every service: the request id (our correlation id) and the
/// authenticated caller, once the auth middleware has run.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// From `X-Request-ID` or generated; carried into every event this request causes.
    public var requestId: String
    public var user: AuthenticatedUser?

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.requestId = ""
        self.user = nil
    }

    public var requestDecoder: JSONDecoder { EventCoding.decoder }
    public var responseEncoder: JSONEncoder { EventCoding.encoder }

    /// The caller, or 401 when the route was reached without authentication.
    public func requireUser() throws -> AuthenticatedUser {
        guard let user else { throw Problem.unauthorized("Authentication required.") }
        return user
    }

    /// The caller if they hold one of the roles; 403 otherwise.
    public func requireRole(_ roles: Role...) throws -> AuthenticatedUser {
        let user = try requireUser()
        guard roles.contains(where: user.roles.contains) else {
            throw Problem.forbidden("This action needs the role \(roles.map(\.rawValue).joined(separator: " or ")).")
        }
        return user
    }
}
