import Foundation
@testable import HTTPSupport
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct RateLimiterTests {
    @Test func aBurstIsAllowedThenRefusedUntilATokenIsRefilled() {
        let limiter = RateLimiter(limit: .init(perMinute: 60, burst: 3))
        let start = ContinuousClock.now
        for _ in 0..<3 { #expect(limiter.acquire("alice", now: start) == nil) }
        let wait = limiter.acquire("alice", now: start)
        #expect(wait == .seconds(1))
        #expect(limiter.acquire("alice", now: start + .milliseconds(500)) != nil)
        #expect(limiter.acquire("alice", now: start + .milliseconds(1001)) == nil)
    }

    /// Buckets of users idle long enough to be full again are forgotten once there are many; users
    /// active at once, whose buckets must stay, do not make every request scan them all.
    @Test func idleBucketsAreForgottenAndManyActiveUsersAreNotScannedOnEveryRequest() {
        let limiter = RateLimiter(limit: .init(perMinute: 60, burst: 5), pruneThreshold: 1_000)
        let start = ContinuousClock.now
        // 1,200 users at once: none of their buckets is full, so none can go. One pass finds that,
        // and the next waits for twice as many buckets (without that, 200 passes).
        for user in 0..<1_200 { #expect(limiter.acquire("active-\(user)", now: start) == nil) }
        #expect(limiter.tracked.keys == 1_200)
        #expect(limiter.tracked.prunes == 1)
        // Ten seconds later those buckets are full again (5 tokens at 1 a second): the pass that
        // the next 1,201 users bring forgets them.
        for user in 0..<1_201 { #expect(limiter.acquire("later-\(user)", now: start + .seconds(10)) == nil) }
        #expect(limiter.tracked.prunes == 2)
        #expect(limiter.tracked.keys == 1_201)
        // A forgotten user gets a new bucket (a full one, as theirs had become).
        #expect(limiter.acquire("active-0", now: start + .seconds(10)) == nil)
        #expect(limiter.tracked.keys == 1_202)
    }

    @Test func eachUserHasTheirOwnBucket() {
        let limiter = RateLimiter(limit: .init(perMinute: 1, burst: 1))
        let now = ContinuousClock.now
        #expect(limiter.acquire("alice", now: now) == nil)
        #expect(limiter.acquire("alice", now: now) == .seconds(60))
        #expect(limiter.acquire("bob", now: now) == nil)
    }
}

@Suite struct RateLimitMiddlewareTests {
    func makeLimitedRouter(limit: RateLimiter.Limit) async -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: AllowedOriginsCORSMiddleware(origins: ["https://shop.example"]))
        router.add(middleware: RequestIdMiddleware())
        router.add(middleware: ProblemMiddleware())
        let api = router.group("api").add(middleware: AuthMiddleware(authenticator: await JWTAuthenticator(secret: secret)))
            .add(middleware: RateLimitMiddleware(limiter: RateLimiter(limit: limit), routes: ["POST /api/pay/{id}"]))
        api.post("pay/{id}") { _, _ in "paid" }
        api.get("pay/{id}") { _, _ in "read" }
        return router
    }

    @Test func aLimitedRouteAnswers429ProblemWithRetryAfterPerUser() async throws {
        let app = Application(router: await makeLimitedRouter(limit: .init(perMinute: 2, burst: 2)))
        let alice = token(claims: claims(sub: "alice"))
        let bob = token(claims: claims(sub: "bob"))
        try await app.test(.router) { client in
            for path in ["/api/pay/1", "/api/pay/2"] {
                try await client.execute(uri: path, method: .post, headers: [.authorization: "Bearer \(alice)"]) { response in
                    #expect(response.status == .ok)
                }
            }
            try await client.execute(uri: "/api/pay/3", method: .post, headers: [.authorization: "Bearer \(alice)"]) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.contentType] == Problem.contentType)
                #expect(response.headers[.retryAfter] == "30")
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                #expect(body?["type"] as? String == "/problems/rate-limited")
                #expect(body?["status"] as? Int == 429)
                #expect(body?["retryAfterSeconds"] as? String == "30")
            }
            // Other routes and other users are not limited.
            try await client.execute(uri: "/api/pay/3", method: .get, headers: [.authorization: "Bearer \(alice)"]) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/api/pay/3", method: .post, headers: [.authorization: "Bearer \(bob)"]) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func aPreflightFromAnAllowedOriginIsAnsweredAndOthersGetNoCORSHeaders() async throws {
        let app = Application(router: await makeLimitedRouter(limit: .init(perMinute: 60, burst: 10)))
        try await app.test(.router) { client in
            try await client.execute(
                uri: "/api/pay/1", method: .options,
                headers: [.origin: "https://shop.example", .accessControlRequestMethod: "POST",
                          .accessControlRequestHeaders: "authorization, idempotency-key"]
            ) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == "https://shop.example")
                let methods = response.headers[.accessControlAllowMethods] ?? ""
                #expect(methods.contains("POST"))
                let headers = (response.headers[.accessControlAllowHeaders] ?? "").lowercased()
                #expect(headers.contains("authorization") && headers.contains("idempotency-key"))
            }
            try await client.execute(
                uri: "/api/pay/1", method: .get,
                headers: [.origin: "https://shop.example", .authorization: "Bearer \(token(claims: claims()))"]
            ) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.accessControlAllowOrigin] == "https://shop.example")
            }
            try await client.execute(uri: "/api/pay/1", method: .options, headers: [.origin: "https://evil.example"]) { response in
                #expect(response.headers[.accessControlAllowOrigin] == nil)
                #expect(response.status != .noContent)
            }
        }
    }
}
