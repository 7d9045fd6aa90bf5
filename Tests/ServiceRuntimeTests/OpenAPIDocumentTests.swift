import Foundation
import Testing
import TestSupport

@testable import EscrowService
@testable import NotificationService
@testable import OrderService
@testable import PaymentService
@testable import ServiceRuntime

/// Every route a service registers is in its OpenAPI document, and the document describes no
/// route the service lacks.
@Suite struct OpenAPIDocumentTests {
    @Test(arguments: ServiceStartupTests.definitions)
    func theDocumentDescribesExactlyTheRegisteredRoutes(_ definition: ServiceDefinition) async throws {
        let routes = RouteList()
        var options = RuntimeOptions()
        options.routes = routes
        // Nothing runs: building the application only registers the routes (no call is made).
        let configuration = try ServiceConfiguration.fromEnvironment(["APP_ENV": "test"], service: definition.identity)
        _ = try await buildApplication(definition, configuration: configuration, options: options, logger: TestEnvironment.logger)
        let registered = Set(routes.all)
        #expect(registered.contains("GET /metrics") && registered.contains("GET /openapi.json"))

        let document = try #require(try JSONSerialization.jsonObject(with: definition.openAPIDocument()) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented: Set<String> = []
        for (path, operations) in paths {
            for (method, operation) in operations where Self.methods.contains(method) {
                documented.insert("\(method.uppercased()) \(path)")
                let responses = (operation as? [String: Any])?["responses"] as? [String: Any] ?? [:]
                #expect(!responses.isEmpty, "\(method.uppercased()) \(path) documents no response")
            }
        }
        #expect(registered.subtracting(documented).sorted() == [], "registered but not documented")
        #expect(documented.subtracting(registered).sorted() == [], "documented but not registered")
        for route in definition.rateLimitedRoutes {
            #expect(documented.contains(route), "rate-limited route \(route) is not a documented route")
        }
    }

    static let methods: Set<String> = ["get", "post", "put", "patch", "delete", "head", "options"]
}
