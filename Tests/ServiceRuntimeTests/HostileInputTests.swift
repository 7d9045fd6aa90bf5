import EventContracts
import Foundation
import Testing
import TestSupport

@testable import EscrowService
@testable import NotificationService
@testable import OrderService
@testable import PaymentService
@testable import ServiceRuntime

/// Nothing a client sends may crash a process: every documented endpoint gets extreme numbers,
/// cursors, dates, ids and strings, and must answer below 500 with the process still alive.
@Suite struct HostileInputTests {
    static let evilCursor = Data("-9223372036854775808.00000000-0000-0000-0000-000000000000".utf8).base64EncodedString()
        .replacingOccurrences(of: "=", with: "")
    static let evilQueryValues = [
        evilCursor, "-9223372036854775808", "99999999999999999999999", "1e308", "NaN", "%00", String(repeating: "x", count: 4000),
        "0001-01-01T00:00:00Z", "99999-12-31T23:59:59Z",
    ]
    static let evilIds = ["00000000-0000-0000-0000-000000000000", "-1", "%00", String(repeating: "9", count: 500)]
    static let evilNumbers: [JSONValue] = [
        .integer(Int64.max), .integer(Int64.min), .number(1e308), .number(-1e308), .number(18_446_744_073_709_551_615.0),
    ]
    static let evilStrings: [JSONValue] = [.string(String(repeating: "é", count: 20_000)), .string("\u{0}"), .string("")]

    @Test(arguments: ServiceStartupTests.definitions)
    func everyEndpointAnswersExtremeInputBelow500AndTheServiceLives(_ definition: ServiceDefinition) async throws {
        try await ServiceHarness.run(
            definition, topics: [Topic.orders, Topic.payments, Topic.escrow],
            environment: ["RATE_LIMIT_PER_MINUTE": "100000", "RATE_LIMIT_BURST": "100000"]
        ) { service in
            let document = try JSONSerialization.jsonObject(with: try await service.call(.get, "/openapi.json", as: "x", roles: []).body)
            let paths = try ((document as? [String: Any])?["paths"] as? [String: [String: Any]]).orThrow("paths")
            var failures: [String] = []
            var calls = 0
            for (template, operations) in paths.sorted(by: { $0.key < $1.key }) where template.hasPrefix("/api/v1/") {
                for (method, operation) in operations {
                    let operation = operation as? [String: Any] ?? [:]
                    let parameters = (operation["parameters"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                    let queryNames = (operation["parameters"] as? [[String: Any]] ?? []).filter { $0["in"] as? String == "query" }
                        .compactMap { $0["name"] as? String }
                    let ids = template.contains("{") ? Self.evilIds : [""]
                    for (round, id) in ids.enumerated() {
                        var path = template
                        for name in parameters { path = path.replacingOccurrences(of: "{\(name)}", with: id) }
                        for value in method == "get" ? Self.evilQueryValues : [Self.evilQueryValues[round % Self.evilQueryValues.count]] {
                            let query = (queryNames + ["cursor", "limit"]).map { "\($0)=\(value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value)" }
                            let uri = path + "?" + query.joined(separator: "&")
                            let bodies = method == "get" ? [nil] : Self.bodies(for: operation)
                            for body in bodies {
                                let reply = try await service.call(
                                    .init(method.uppercased())!, uri, as: "hostile-1", roles: ["buyer", "seller", "admin"], body: body,
                                    idempotencyKey: UUID().uuidString)
                                calls += 1
                                if reply.status.code >= 500 { failures.append("\(method.uppercased()) \(uri.prefix(120)) → \(reply.status.code) \(reply.text.prefix(200))") }
                            }
                        }
                    }
                }
            }
            #expect(calls > 20)
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
            let live = try await service.call(.get, "/health/live", as: "x", roles: [])
            #expect(live.status == .ok)
        }
    }

    /// Bodies with every documented property at an extreme: numbers, strings, and both at once.
    static func bodies(for operation: [String: Any]) -> [JSONValue?] {
        let schema = (((operation["requestBody"] as? [String: Any])?["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"] as? [String: Any]
        let properties = schema?["properties"] as? [String: [String: Any]] ?? [:]
        var bodies: [JSONValue?] = [nil, .object([:]), .array([])]
        for index in 0..<max(evilNumbers.count, evilStrings.count) {
            var object: [String: JSONValue] = [:]
            for (name, property) in properties {
                switch property["type"] as? String {
                case "integer", "number": object[name] = evilNumbers[index % evilNumbers.count]
                case "string": object[name] = (property["format"] as? String) == "date-time" ? .string("99999-01-01T00:00:00Z") : evilStrings[index % evilStrings.count]
                case "array": object[name] = .array([.object(["quantity": evilNumbers[index % evilNumbers.count], "listingId": .string(UUID().uuidString)])])
                case "boolean": object[name] = .string("yes")
                default: object[name] = .object(["amount": evilNumbers[index % evilNumbers.count]])
                }
            }
            bodies.append(.object(object))
        }
        return bodies
    }
}
