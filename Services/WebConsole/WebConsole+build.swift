import AsyncHTTPClient
import Foundation
import HTTPSupport
import Hummingbird
import Logging

/// The console's HTTP server: static pages, the API proxy to the four services, the
/// development sign-in (outside production only) and `/health/live`. Used by main and the tests.
func buildApplication(
    settings: ConsoleSettings, httpClient: HTTPClient = .shared, logger: Logger
) async throws -> some ApplicationProtocol {
    let router = Router()
    router.get("health/live") { _, _ in Live(status: "ok") }
    ConsoleInfo(settings: settings).addRoutes(to: router)
    try await DevSignIn(secret: settings.devSignIn ? settings.jwtSecret : nil).addRoutes(to: router)
    EmailLinks().addRoutes(to: router)
    APIProxy(upstreams: settings.upstreams, client: httpClient, timeout: settings.upstreamTimeout).addRoutes(to: router)
    try StaticSite.load().addRoutes(to: router)
    return Application(
        router: router,
        configuration: .init(address: .hostname(settings.httpHost, port: settings.httpPort), serverName: "web-console"),
        logger: logger)
}

struct Live: ResponseEncodable {
    var status: String
}

/// `GET /console/config`: what the pages need to know about this deployment (no secrets).
struct ConsoleInfo: Sendable {
    let settings: ConsoleSettings

    struct Body: ResponseEncodable {
        var environment: String
        var devSignIn: Bool
        var services: [String]
        /// Set when buyers pay in Stripe's Payment Element.
        var stripePublishableKey: String?
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("console/config") { _, _ in
            Body(
                environment: settings.mode.rawValue, devSignIn: settings.devSignIn, services: settings.upstreams.keys.sorted(),
                stripePublishableKey: settings.stripePublishableKey)
        }
    }
}
