import Crypto
import Foundation
import HTTPSupport
import Hummingbird
import HummingbirdTesting
import Testing

let secret = "test-secret-that-is-long-enough-for-hs256"

/// Builds a compact JWT by hand, so tests control every byte (alg, signature, claims).
func token(alg: String = "HS256", claims: [String: Any], secret: String? = secret, signature: String? = nil) -> String {
    func encode(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
    let header = encode(try! JSONSerialization.data(withJSONObject: ["alg": alg, "typ": "JWT"]))
    let payload = encode(try! JSONSerialization.data(withJSONObject: claims))
    let input = "\(header).\(payload)"
    if let signature { return "\(input).\(signature)" }
    guard let secret else { return "\(input)." }
    let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: Data(secret.utf8)))
    return "\(input).\(encode(Data(mac)))"
}

func claims(sub: String = "user-1", roles: [String] = ["buyer"], expiresIn: TimeInterval = 600) -> [String: Any] {
    ["sub": sub, "roles": roles, "email": "\(sub)@example.test", "exp": Int(Date().timeIntervalSince1970 + expiresIn)]
}

func makeRouter() async -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestIdMiddleware())
    router.add(middleware: ProblemMiddleware())
    let api = router.group("api").add(middleware: AuthMiddleware(authenticator: await JWTAuthenticator(secret: secret)))
    api.get("me") { _, context in
        let user = try context.requireUser()
        return "\(user.id) \(user.roles.map(\.rawValue).sorted().joined(separator: ","))"
    }
    api.get("admin-only") { _, context in
        _ = try context.requireRole(.admin)
        return "ok"
    }
    return router
}

@Suite struct AuthenticationTests {
    func get(_ path: String, token: String?) async throws -> (HTTPResponse.Status, String, HTTPFields) {
        let app = Application(router: await makeRouter())
        return try await app.test(.router) { client in
            var headers: HTTPFields = [:]
            if let token { headers[.authorization] = "Bearer \(token)" }
            return try await client.execute(uri: path, method: .get, headers: headers) { response in
                (response.status, String(buffer: response.body), response.headers)
            }
        }
    }

    @Test func aValidTokenIsAccepted() async throws {
        let (status, body, _) = try await get("/api/me", token: token(claims: claims(roles: ["buyer", "seller", "pilot"])))
        #expect(status == .ok)
        #expect(body == "user-1 buyer,seller")
    }

    enum BadToken: String, CaseIterable, Sendable {
        case tamperedPayload, wrongSecret, expired, algNone, algNoneWithSignature, hs512Header, noExpiry, garbage

        var token: String {
            switch self {
            case .tamperedPayload:
                var parts = HTTPSupportTests.token(claims: claims()).split(separator: ".").map(String.init)
                parts[1] = String(HTTPSupportTests.token(claims: claims(roles: ["admin"])).split(separator: ".")[1])
                return parts.joined(separator: ".")
            case .wrongSecret: return HTTPSupportTests.token(claims: claims(), secret: "another-secret-another-secret-xx")
            case .expired: return HTTPSupportTests.token(claims: claims(expiresIn: -5))
            case .algNone: return HTTPSupportTests.token(alg: "none", claims: claims(), secret: nil)
            case .algNoneWithSignature: return HTTPSupportTests.token(alg: "none", claims: claims(), signature: "c2ln")
            case .hs512Header: return HTTPSupportTests.token(alg: "HS512", claims: claims())
            case .noExpiry: return HTTPSupportTests.token(claims: ["sub": "user-1", "roles": ["buyer"]])
            case .garbage: return "not.a.jwt"
            }
        }
    }

    @Test(arguments: BadToken.allCases)
    func badTokensAreRejectedWith401ProblemJSON(_ bad: BadToken) async throws {
        let (status, body, headers) = try await get("/api/me", token: bad.token)
        #expect(status == .unauthorized)
        #expect(headers[.contentType] == "application/problem+json")
        #expect(body.contains("\"status\":401"))
    }

    @Test func aMissingOrNonBearerHeaderIs401() async throws {
        #expect(try await get("/api/me", token: nil).0 == .unauthorized)
        let app = Application(router: await makeRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/me", method: .get, headers: [.authorization: "Basic dXNlcjpwYXNz"]) {
                #expect($0.status == .unauthorized)
            }
        }
    }

    @Test func aMissingRoleIs403() async throws {
        let (status, body, _) = try await get("/api/admin-only", token: token(claims: claims(roles: ["buyer"])))
        #expect(status == .forbidden)
        #expect(body.contains("/problems/forbidden"))
        #expect(try await get("/api/admin-only", token: token(claims: claims(roles: ["admin"]))).0 == .ok)
    }
}

@Suite struct RequestIdTests {
    @Test func aSaneRequestIdIsEchoedAndAForgedOneReplaced() async throws {
        let app = Application(router: await makeRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/me", method: .get, headers: [.requestId: "abc-123"]) {
                #expect($0.headers[.requestId] == "abc-123")
            }
            try await client.execute(uri: "/api/me", method: .get, headers: [.requestId: "bad id\nlevel=error"]) {
                let id = $0.headers[.requestId] ?? ""
                #expect(UUID(uuidString: id) != nil)
            }
        }
    }
}
