import Foundation
import HTTPSupport
import Hummingbird
import JWTKit

/// `POST /console/dev-token`: a development sign-in that mints the same HS256 token as
/// `scripts/dev token` (claims `sub`, `roles`, `email`, `iat`, `exp`). Without a secret (production)
/// the route answers 404 like any unknown path: tokens come from the marketplace's identity provider.
struct DevSignIn: Sendable {
    let keys: JWTKeyCollection?

    init(secret: String?) async {
        if let secret {
            let keys = JWTKeyCollection()
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
            self.keys = keys
        } else {
            keys = nil
        }
    }

    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var roles: [String]
        var email: String
        var iat: IssuedAtClaim
        var exp: ExpirationClaim

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    struct Input: Decodable {
        var sub: String
        var roles: [String]
        var email: String?
        var ttlSeconds: Int?
    }

    struct Output: ResponseEncodable {
        var token: String
        var sub: String
        var roles: [String]
        var email: String
        var expiresAt: String
    }

    func addRoutes(to router: Router<BasicRequestContext>) async throws {
        router.post("console/dev-token") { request, context in
            guard let keys else { throw Problem.notFound("There is no development sign-in in production.") }
            let input: Input
            do {
                input = try await request.decode(as: Input.self, context: context)
            } catch {
                throw Problem.badRequest("Send JSON with sub, roles and optionally email and ttlSeconds.")
            }
            return try await mint(input, keys: keys)
        }
    }

    func mint(_ input: Input, keys: JWTKeyCollection) async throws -> Output {
        let sub = input.sub.trimmingCharacters(in: .whitespaces)
        guard !sub.isEmpty, sub.count <= 200 else { throw Problem.validation("The user id must be 1 to 200 characters.") }
        let roles = input.roles.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        guard !roles.isEmpty, roles.allSatisfy({ Role(rawValue: $0) != nil }) else {
            throw Problem.validation("Pick at least one role of buyer, seller and admin.")
        }
        let ttl = input.ttlSeconds ?? 8 * 3600
        guard (60...86_400).contains(ttl) else { throw Problem.validation("ttlSeconds must be 60 to 86400.") }
        let email = input.email?.trimmingCharacters(in: .whitespaces).nilIfEmpty ?? "\(sub)@example.test"
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))  // whole seconds, as `scripts/dev token`
        let expires = now.addingTimeInterval(TimeInterval(ttl))
        let claims = Claims(
            sub: .init(value: sub), roles: roles, email: email, iat: .init(value: now), exp: .init(value: expires))
        let token = try await keys.sign(claims)
        return Output(token: token, sub: sub, roles: roles, email: email, expiresAt: ISO8601DateFormatter().string(from: expires))
    }
}

extension String {
    fileprivate var nilIfEmpty: String? { isEmpty ? nil : self }
}
