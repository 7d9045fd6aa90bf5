import EventContracts
import Foundation
import NIOHTTP1
import StripeClient
import TestSupport
import Testing

@Suite struct IdempotencyTests {
    static let fields: [(String, StripeFormValue)] = [("email", "buyer@example.test"), ("metadata", .metadata(["a": "1", "b": "2"]))]

    @Test func aRetryWithTheSameKeyAndParametersGetsTheStoredAnswer() async throws {
        let sim = try await SimulatorHarness()
        defer { sim.stop() }
        let first: JSONValue = try await sim.client().post("/v1/customers", Self.fields, idempotencyKey: "customer-1")
        // The same parameters in another order are the same request.
        let again: JSONValue = try await sim.client().post(
            "/v1/customers", [("metadata[b]", "2"), ("metadata[a]", "1"), ("email", "buyer@example.test")], idempotencyKey: "customer-1")
        #expect(first == again)
        #expect(try await sim.state("customers", "count")?.integer == 1)
    }

    @Test func theSameKeyWithOtherParametersIsAnIdempotencyError() async throws {
        let sim = try await SimulatorHarness()
        defer { sim.stop() }
        let _: JSONValue = try await sim.client().post("/v1/customers", Self.fields, idempotencyKey: "customer-2")
        let error = await stripeError {
            try await sim.client().post("/v1/customers", [("email", "other@example.test")], idempotencyKey: "customer-2", as: JSONValue.self)
        }
        #expect(error?.kind == .idempotency && error?.httpStatus == 400)
        let otherEndpoint = await stripeError {
            try await sim.client().post("/v1/accounts", [("email", "other@example.test")], idempotencyKey: "customer-2", as: JSONValue.self)
        }
        #expect(otherEndpoint?.kind == .idempotency)
        #expect(try await sim.state("customers", "count")?.integer == 1)
        #expect(try await sim.state("accounts", "count")?.integer == 0)
    }

    @Test func aKeyStillInFlightIsRefusedWithAConflict() async throws {
        let sim = try await SimulatorHarness()
        defer { sim.stop() }
        try await sim.control(.PUT, "/_sim/faults", ["rules": [["kind": "latency", "path": "/v1/customers", "latencyMs": 1500, "count": 1]]])
        let client = sim.client()
        async let slow: JSONValue = client.post("/v1/customers", Self.fields, idempotencyKey: "customer-3")
        try await Task.sleep(for: .milliseconds(400))
        let error = await stripeError {
            try await sim.client().post("/v1/customers", Self.fields, idempotencyKey: "customer-3", as: JSONValue.self)
        }
        #expect(error?.httpStatus == 409 && error?.code == "idempotency_key_in_use")
        let created = try await slow
        let replay: JSONValue = try await sim.client().post("/v1/customers", Self.fields, idempotencyKey: "customer-3")
        #expect(replay == created)
        #expect(try await sim.state("customers", "count")?.integer == 1)
    }

    @Test func anExpiredKeyMakesANewObject() async throws {
        let sim = try await SimulatorHarness(environment: ["SIM_IDEMPOTENCY_TTL_SECONDS": "0.5"])
        defer { sim.stop() }
        let first: JSONValue = try await sim.client().post("/v1/customers", Self.fields, idempotencyKey: "customer-4")
        try await Task.sleep(for: .milliseconds(700))
        let second: JSONValue = try await sim.client().post("/v1/customers", Self.fields, idempotencyKey: "customer-4")
        #expect(first["id"] != second["id"])
        #expect(try await sim.state("customers", "count")?.integer == 2)
    }
}
