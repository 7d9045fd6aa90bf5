import EventContracts
import Foundation
import Testing
import TestSupport

@testable import EscrowService
@testable import NotificationService
@testable import OrderService
@testable import PaymentService
@testable import ServiceRuntime

/// Runs schemathesis against each live service with a token holding every role: no 5xx for any
/// generated input (valid and invalid), input that breaks the document is refused, and every
/// status, content type and body matches the service's OpenAPI document. Bounded to a few examples per operation to keep the suite fast.
/// One worker: with two threads, CPython 3.11's `ast.parse` (which hypothesis calls to describe
/// its filters) sometimes fails with "AST constructor recursion depth mismatch" and the run errors.
@Suite struct ContractTests {
    @Test(arguments: ServiceStartupTests.definitions)
    func schemathesisFindsNoServerErrorAndNoResponseOutsideTheDocument(_ definition: ServiceDefinition) async throws {
        let python = try ProcessInfo.processInfo.environment["TEST_PYTHON"].orThrow("TEST_PYTHON (run the tests with scripts/dev test)")
        let st = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("st").path
        try await ServiceHarness.run(definition, topics: Topic.all, environment: ["RATE_LIMIT_PER_MINUTE": "6000", "RATE_LIMIT_BURST": "1000"]) { service in
            let port = try service.port.orThrow("the service's port")
            let token = try await service.token("contract-user", ["buyer", "seller", "admin"])
            let (status, output) = try await Self.run(
                st,
                [
                    "run", "http://127.0.0.1:\(port)/openapi.json",
                    "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection",
                    "--max-examples", ProcessInfo.processInfo.environment["CONTRACT_MAX_EXAMPLES"] ?? "5",
                    "--seed", "20261121", "--workers", "1", "--request-timeout", "10", "--no-color",
                    "--header", "Authorization: Bearer \(token)",
                ])
            #expect(status == 0, "schemathesis against \(definition.identity.name):\n\(output)")
            // It must really have tested: a run that generated no case proves nothing.
            let generated = output.firstMatch(of: /(\d+) generated/).flatMap { Int($0.1) } ?? 0
            #expect(generated > 0, "schemathesis generated no test case:\n\(output)")
        }
    }

    /// Runs a command in a scratch directory (hypothesis keeps its database there); returns its
    /// exit status and combined output.
    static func run(_ executable: String, _ arguments: [String]) async throws -> (Int32, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("contract-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("output.txt")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardOutput = handle
        process.standardError = handle
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        try handle.close()
        return (status, String(decoding: try Data(contentsOf: log), as: UTF8.self))
    }
}
