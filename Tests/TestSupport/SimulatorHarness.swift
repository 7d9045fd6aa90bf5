import AsyncHTTPClient
import EventContracts
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import StripeClient

/// One StripeSimulator process on a free port, driven through the production `StripeClient`
/// and the simulator's control API.
public final class SimulatorHarness: @unchecked Sendable {
    /// The test-mode key every client here uses.
    public static let secretKey = "sk_test_simulator_tests_0123456789"

    public let url: String
    public let webhookSecret: String
    private let process: Process
    private let log: URL

    /// Starts the simulator (`TEST_BIN_DIR/StripeSimulator`) and waits until it answers.
    public init(webhookSecret: String = "whsec_simulator_tests", environment extra: [String: String] = [:]) async throws {
        self.webhookSecret = webhookSecret
        let port = try TestEnvironment.reservePorts(1)[0]
        url = "http://127.0.0.1:\(port)"
        log = FileManager.default.temporaryDirectory.appendingPathComponent("stripe-simulator-\(port)-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process = Process()
        process.executableURL = URL(fileURLWithPath: TestEnvironment.binDirectory).appendingPathComponent("StripeSimulator")
        var environment = ProcessInfo.processInfo.environment
        environment.merge(
            ["SIM_HOST": "127.0.0.1", "SIM_PORT": "\(port)", "SIM_WEBHOOK_SECRET": webhookSecret, "SIM_LOG_LEVEL": "info"]
                .merging(extra) { _, new in new }
        ) { _, new in new }
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if (try? await control(.GET, "/_sim/health")) != nil { return }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let output = output
        stop()
        throw SimulatorHarnessError("the simulator did not start:\n\(output)")
    }

    public func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: log)
    }

    /// What the simulator logged, for failure messages.
    public var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// The production client against the simulator. Retries are off unless asked for, so a
    /// test sees each answer (or lost answer) itself.
    public func client(timeout: TimeAmount = .seconds(5), attempts: Int = 1) -> StripeClient {
        var retry = StripeRetryPolicy()
        retry.maximumAttempts = attempts
        retry.baseDelay = .milliseconds(50)
        return StripeClient(
            configuration: .init(secretKey: Self.secretKey, baseURL: url, timeout: timeout, retry: retry),
            logger: Logger(label: "stripe-client-test"))
    }

    /// Calls the control API (`/_sim/…`) with an optional JSON body; throws on a non-2xx answer.
    @discardableResult
    public func control(_ method: HTTPMethod, _ path: String, _ body: JSONValue? = nil) async throws -> JSONValue {
        let (status, json) = try await raw(method, path, body: body.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) })
        guard (200..<300).contains(status) else { throw SimulatorHarnessError("\(method) \(path) answered \(status): \(json)") }
        return json
    }

    /// A raw request to the simulator: status and JSON body.
    public func raw(
        _ method: HTTPMethod, _ path: String, body: String? = nil, headers: [(String, String)] = []
    ) async throws -> (Int, JSONValue) {
        var request = HTTPClientRequest(url: url + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 22)
        let json = (try? JSONDecoder().decode(JSONValue.self, from: Data(bytes.readableBytesView))) ?? .string(String(buffer: bytes))
        return (Int(response.status.code), json)
    }

    /// A GET on the Stripe API with a test key, as raw JSON (e.g. `/v1/events?type=…`).
    public func stripeGET(_ path: String) async throws -> JSONValue {
        try await raw(.GET, path, headers: [("Authorization", "Bearer \(Self.secretKey)")]).1
    }

    /// `GET /_sim/state`, then a value at a path in it, e.g. `state("transfers", "count")`.
    public func state(_ path: String...) async throws -> JSONValue? {
        var value: JSONValue? = try await control(.GET, "/_sim/state")
        for key in path { value = value?[key] }
        return value
    }

    /// Waits until `condition` holds, polling; false when it never did.
    public static func eventually(within limit: Duration = .seconds(5), _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return try await condition()
    }
}

public struct SimulatorHarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension JSONValue {
    public var string: String? { if case .string(let value) = self { value } else { nil } }
    public var integer: Int64? { if case .integer(let value) = self { value } else { nil } }
    public var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
    public var array: [JSONValue]? { if case .array(let value) = self { value } else { nil } }
}
