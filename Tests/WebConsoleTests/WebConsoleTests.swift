import Foundation
import HTTPSupport
import Hummingbird
import HummingbirdTesting
import JWTKit
import Logging
import Testing

@testable import WebConsole

private func settings(_ environment: [String: String]) throws -> ConsoleSettings {
    try ConsoleSettings.fromEnvironment(environment)
}

@Suite struct WebConsoleTests {
    let logger = Logger(label: "web-console-test")

    @Test func theDevelopmentSignInMintsATokenTheServicesAccept() async throws {
        let secret = String(repeating: "s", count: 40)
        let app = try await buildApplication(settings: settings(["JWT_SECRET": secret]), logger: logger)
        try await app.test(.router) { client in
            let body = ByteBuffer(string: #"{"sub":"seller-1","roles":["seller","seller","buyer"]}"#)
            try await client.execute(uri: "/console/dev-token", method: .post, body: body) { response in
                #expect(response.status == .ok)
                let output = try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any]
                let token = try #require(output?["token"] as? String)
                // The same verifier the four services use.
                let user = try await JWTAuthenticator(secret: secret).authenticate(token: token)
                #expect(user.id == "seller-1")
                #expect(user.roles == [.seller, .buyer])
                #expect(user.email == "seller-1@example.test")
            }
            try await client.execute(
                uri: "/console/dev-token", method: .post, body: ByteBuffer(string: #"{"sub":"x","roles":["root"]}"#)
            ) { response in
                #expect(response.status == .unprocessableContent)
            }
        }
    }

    @Test func productionHasNoDevelopmentSignIn() async throws {
        let environment = [
            "APP_ENV": "production", "ORDER_SERVICE_URL": "http://orders:8081", "PAYMENT_SERVICE_URL": "http://payments:8082",
            "ESCROW_SERVICE_URL": "http://escrow:8083", "NOTIFICATION_SERVICE_URL": "http://notifications:8084",
        ]
        let app = try await buildApplication(settings: settings(environment), logger: logger)
        try await app.test(.router) { client in
            let body = ByteBuffer(string: #"{"sub":"admin","roles":["admin"]}"#)
            try await client.execute(uri: "/console/dev-token", method: .post, body: body) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/console/config", method: .get) { response in
                #expect(String(buffer: response.body).contains(#""devSignIn":false"#))
            }
        }
    }

    @Test func aPublishableKeyReachesThePagesAndASecretKeyIsRefused() async throws {
        let app = try await buildApplication(settings: settings(["STRIPE_PUBLISHABLE_KEY": "pk_test_51AbCdEf"]), logger: logger)
        try await app.test(.router) { client in
            try await client.execute(uri: "/console/config", method: .get) { response in
                #expect(String(buffer: response.body).contains(#""stripePublishableKey":"pk_test_51AbCdEf""#))
            }
        }
        for key in ["sk_test_51AbCdEf", "rk_live_x", "pk_test_", "pk_test_<script>", "pk_live_" + String(repeating: "a", count: 300)] {
            #expect(throws: ConsoleConfigurationError.self, "\(key)") { try settings(["STRIPE_PUBLISHABLE_KEY": key]) }
        }
        let without = try await buildApplication(settings: settings([:]), logger: logger)
        try await without.test(.router) { client in
            try await client.execute(uri: "/console/config", method: .get) { response in
                #expect(!String(buffer: response.body).contains("stripePublishableKey"))
            }
        }
    }

    @Test func productionRequiresTheServiceURLs() {
        #expect(throws: ConsoleConfigurationError.self) { try settings(["APP_ENV": "production"]) }
    }

    @Test func pagesAreServedAndUnknownFilesAreNot() async throws {
        let app = try await buildApplication(settings: settings([:]), logger: logger)
        try await app.test(.router) { client in
            for path in ["/", "/seller/listings", "/receipts/6f1c0f9e-8f55-4a53-9d3a-0a6f1b7c2d11"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body).contains("<!doctype html>"))
                }
            }
            try await client.execute(uri: "/js/app.js", method: .get) { response in
                #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
            }
            try await client.execute(uri: "/missing.js", method: .get) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/health/live", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func theProxyOnlyReachesKnownServicesUnderAPIV1() async throws {
        let app = try await buildApplication(settings: settings([:]), logger: logger)
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/ledger/whoami", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/problem+json")
            }
        }
        try await app.test(.router) { client in
            // The receipt email's PDF link opens the receipt's page.
            try await client.execute(uri: "/api/v1/receipts/6F1C0F9E-8F55-4A53-9D3A-0A6F1B7C2D11/pdf", method: .get) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/receipts/6f1c0f9e-8f55-4a53-9d3a-0a6f1b7c2d11")
            }
        }
        #expect(APIProxy.upstreamURL(base: "http://o:1", rest: "orders/7/ship", query: "a=1") == "http://o:1/api/v1/orders/7/ship?a=1")
        #expect(APIProxy.upstreamURL(base: "http://o:1", rest: "../metrics", query: nil) == nil)
        #expect(APIProxy.upstreamURL(base: "http://o:1", rest: "a//b", query: nil) == nil)
    }
}
