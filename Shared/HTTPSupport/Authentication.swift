import Foundation
import Hummingbird
import JWTKit

/// A role a caller can hold.
public enum Role: String, Codable, Sendable, CaseIterable {
    case buyer, seller, admin
}

/// The verified identity behind a request.
public struct AuthenticatedUser: Sendable, Equatable {
    public var id: String
    public var roles: Set<Role>
    public var email: String?

    public init(id: String, roles: Set<Role>, email: String?) {
        self.id = id
        self.roles = roles
        self.email = email
    }

    public var isAdmin: Bool { roles.contains(.admin) }
}

/// The claims our tokens carry: `sub`, `roles`, `email`, `exp` (required).
struct UserClaims: JWTPayload {
    var sub: SubjectClaim
    var roles: [String]
    var email: String?
    var exp: ExpirationClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// Verifies HS256 bearer tokens; every failure becomes a 401 problem, never a 500.
public struct JWTAuthenticator: Sendable {
    private let keys: JWTKeyCollection

    /// HMAC keys shorter than the SHA-256 output are refused (jwt-kit traps on them).
    public static let minimumSecretLength = 32

    public init(secret: String) async {
        precondition(secret.utf8.count >= Self.minimumSecretLength, "JWT secret shorter than 32 bytes")
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.keys = keys
    }

    public func authenticate(token: String) async throws -> AuthenticatedUser {
        // jwt-kit checks the signature with the key's algorithm whatever the header says;
        // a token must also say what it is, so `alg` other than HS256 (e.g. `none`) is refused.
        guard Self.headerAlgorithm(of: token) == "HS256" else {
            throw Problem.unauthorized("The token is invalid.")
        }
        let claims: UserClaims
        do {
            claims = try await keys.verify(token, as: UserClaims.self)
        } catch let error as JWTError where error.errorType == .claimVerificationFailure {
            throw Problem.unauthorized("The token has expired.")
        } catch {
            throw Problem.unauthorized("The token is invalid.")
        }
        guard !claims.sub.value.isEmpty else { throw Problem.unauthorized("The token has no subject.") }
        return AuthenticatedUser(
            id: claims.sub.value, roles: Set(claims.roles.compactMap(Role.init(rawValue:))), email: claims.email)
    }

    static func headerAlgorithm(of token: String) -> String? {
        guard let header = token.split(separator: ".", omittingEmptySubsequences: false).first else { return nil }
        var base64 = header.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object["alg"] as? String
    }
}

/// Requires `Authorization: Bearer <JWT>` on the routes it guards and puts the caller in the context.
public struct AuthMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    let authenticator: JWTAuthenticator

    public init(authenticator: JWTAuthenticator) {
        self.authenticator = authenticator
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw Problem.unauthorized("Send Authorization: Bearer <token>.")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
            throw Problem.unauthorized("The Authorization header must use the Bearer scheme.")
        }
        var context = context
        let user = try await authenticator.authenticate(token: String(parts[1]))
        context.user = user
        context.logger[metadataKey: "user_id"] = "\(user.id)"
        return try await next(request, context)
    }
}
