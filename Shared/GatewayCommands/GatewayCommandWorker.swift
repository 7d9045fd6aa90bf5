import Foundation
import Logging
import Messaging
import Metrics
import Persistence
import PostgresNIO
import ServiceLifecycle
import ServiceRuntime

/// What a service does with one kind of command: the gateway call, then the bookkeeping of its
/// outcome. `execute` runs outside any transaction; `succeeded` and `refused` run in the
/// transaction that completes the command, and append their events to the outbox there.
public protocol GatewayCommandHandler: Sendable {
    func execute(_ command: GatewayCommand) async -> GatewayOutcome
    func succeeded(_ command: GatewayCommand, objectId: String, attributes: [String: String], on connection: PostgresConnection) async throws
    func refused(_ command: GatewayCommand, code: String, reason: String, on connection: PostgresConnection) async throws
}

/// Executes gateway commands: claims due ones, calls the gateway with no transaction or row lock
/// open, and records the outcome in a new transaction. Unknown outcomes are retried with the
/// same key, backing off up to a minute; a claim is a lease, so a worker that died mid-call
/// leaves its command to another (or to itself after a restart) without a second object.
public struct GatewayCommandRunner: Sendable {
    let postgres: PostgresClient
    public let store: GatewayCommandStore
    let handlers: [String: any GatewayCommandHandler]
    let logger: Logger
    /// Who holds a claim: stable across restarts of one instance where possible.
    let claimer: String
    let lease: Duration
    let callTimeout: Duration

    public init(
        postgres: PostgresClient, handlers: [String: any GatewayCommandHandler], logger: Logger, claimer: String?,
        lease: Duration = .seconds(45), callTimeout: Duration = .seconds(30)
    ) {
        self.postgres = postgres
        store = GatewayCommandStore(logger: logger)
        self.handlers = handlers
        self.logger = logger
        self.claimer = claimer ?? "worker-\(UUID().uuidString.lowercased())"
        self.lease = lease
        self.callTimeout = callTimeout
    }

    /// The delay before attempt `attempts + 1` after an unknown outcome.
    public static func backoff(afterAttempt attempts: Int) -> Duration {
        .seconds(min(60, 1 << min(max(attempts - 1, 0), 6)))
    }

    /// At most this many gateway calls at once per instance. A call holds no database connection
    /// while it waits, so this follows what Stripe takes (`StripeClient.sharedHTTP` keeps 64
    /// connections): at 16, 400-ms intent calls capped a service at 40 checkouts a second.
    static let concurrency = 48

    /// How long one claim or one recording of an outcome may take. A query in flight when
    /// Postgres restarts may never answer: abandoned after this, the pass fails and the next one
    /// starts (chaos found every release stalled for the two minutes a whole pass may take).
    static let statementTimeout: Duration = .seconds(10)

    /// Executes due commands, up to `concurrency` at once: a slot that frees takes the next due
    /// command, so one call that hangs until its timeout holds up nothing else. Returns how many
    /// were executed (at most 500 a pass).
    @discardableResult
    public func runDue() async throws -> Int {
        var executed = 0
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            while true {
                if running < Self.concurrency && executed < 500 {
                    let limit = min(Self.concurrency - running, 500 - executed)
                    let claimed = try await Detached.run(timeout: Self.statementTimeout) { [store, lease, claimer, postgres] in
                        try await store.claimDue(limit: limit, lease: lease, claimer: claimer, on: postgres)
                    }
                    for command in claimed { group.addTask { _ = await process(command) } }
                    running += claimed.count
                    executed += claimed.count
                }
                guard running > 0 else { break }
                // Wait for a slot; the gateway, not the database, is the slow part.
                try await group.next()
                running -= 1
            }
        }
        return executed
    }

    /// Executes one command now if nobody else holds it, and returns it as it then stands.
    public func runNow(_ id: UUID) async throws -> GatewayCommand? {
        guard let command = try await store.claim(id, lease: lease, claimer: claimer, on: postgres) else {
            return try await postgres.withConnection { try await store.find(id, on: $0) }
        }
        return try await execute(command)
    }

    /// A command that the request deciding it will execute itself right after its commit: the
    /// request's own claim, taken with the decision instead of in a commit of its own.
    public struct Claim: Sendable {
        public let command: GatewayCommand
        /// False when the key was already recorded: that command is run as `runNow` runs it.
        let ours: Bool
    }

    /// Records `command` in the caller's transaction, claimed by this runner for the lease as
    /// `runNow` would claim it. Pass the claim to `run` after the commit; if that never happens
    /// (the request died), the worker takes the command once the lease runs out.
    public func enqueueClaimed(_ command: GatewayCommand, on connection: PostgresConnection) async throws -> Claim {
        let (stored, inserted) = try await store.enqueue(command, claim: (claimer, lease), on: connection)
        return Claim(command: stored, ours: inserted)
    }

    /// Executes a committed claim (one commit fewer than `runNow`), and returns the command as it
    /// then stands.
    public func run(_ claim: Claim) async throws -> GatewayCommand? {
        guard claim.ours else { return try await runNow(claim.command.id) }
        return try await execute(claim.command)
    }

    /// Executes a command this runner holds, and returns it as it then stands: as its outcome
    /// was recorded, or read again when it was not (an unknown outcome, a failed record).
    private func execute(_ command: GatewayCommand) async throws -> GatewayCommand? {
        if let completed = await process(command) { return completed }
        return try await postgres.withConnection { try await store.find(command.id, on: $0) }
    }

    /// Executes now the pending command of `kind` for `subject`, if there is one.
    public func runNow(subject: String, kind: String) async throws {
        let pending = try await postgres.withConnection { try await store.commands(subject: subject, kind: kind, on: $0) }
            .filter { $0.status == .pending }
        for command in pending { _ = try await runNow(command.id) }
    }

    func releaseOwnClaims() async throws {
        try await store.releaseClaims(of: claimer, on: postgres)
    }

    /// Calls the gateway and records the outcome; returns the command as recorded when it
    /// completed (succeeded or refused) in this call.
    private func process(_ command: GatewayCommand) async -> GatewayCommand? {
        var logger = self.logger
        logger[metadataKey: "correlation_id"] = "\(command.correlationId)"
        logger[metadataKey: "command_id"] = "\(command.id)"
        logger[metadataKey: "kind"] = "\(command.kind)"
        guard let handler = handlers[command.kind] else {
            // Written by a newer version: left for it.
            logger.error("no handler for this gateway command kind; left pending")
            try? await store.retryLater(command.id, claimer: claimer, error: "no handler", delay: .seconds(60), on: postgres)
            return nil
        }
        let outcome: GatewayOutcome
        do {
            outcome = try await Detached.run(timeout: callTimeout) { await handler.execute(command) }
        } catch {
            outcome = .unknown("\(error)")
        }
        Counter(label: "gateway_commands_executed", dimensions: [("kind", command.kind), ("outcome", outcome.label)]).increment()
        do {
            return try await Detached.run(timeout: Self.statementTimeout) { [self, logger] in
                try await record(outcome, of: command, handler: handler, logger: logger)
            }
        } catch {
            // The lease runs out and the command is tried again: the same key finds the same object.
            logger.warning("gateway outcome not recorded yet; the command will run again", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Records the outcome; returns the command as completed here, or nil when it stays pending
    /// (unknown outcome) or another runner had completed it already.
    private func record(
        _ outcome: GatewayOutcome, of command: GatewayCommand, handler: any GatewayCommandHandler, logger: Logger
    ) async throws -> GatewayCommand? {
        switch outcome {
        case .unknown(let error):
            let delay = Self.backoff(afterAttempt: command.attempts)
            logger.warning(
                "gateway outcome unknown; retrying with the same key",
                metadata: ["attempt": "\(command.attempts)", "retry_in": "\(delay)", "error": "\(error)"])
            try await store.retryLater(command.id, claimer: claimer, error: error, delay: delay, on: postgres)
            return nil
        case .succeeded(let objectId, let attributes):
            let completed = try await postgres.inTransaction(logger: logger) { connection -> GatewayCommand? in
                guard let current = try await store.lock(command.id, on: connection), current.status == .pending else { return nil }
                let completed = try await store.complete(command.id, as: .succeeded, resultId: objectId, error: nil, on: connection)
                try await handler.succeeded(current, objectId: objectId, attributes: attributes, on: connection)
                return completed
            }
            logger.info("gateway command succeeded", metadata: ["object": "\(objectId)"])
            return completed
        case .refused(let code, let reason):
            let completed = try await postgres.inTransaction(logger: logger) { connection -> GatewayCommand? in
                guard let current = try await store.lock(command.id, on: connection), current.status == .pending else { return nil }
                let completed = try await store.complete(command.id, as: .refused, resultId: code, error: reason, on: connection)
                try await handler.refused(current, code: code, reason: reason, on: connection)
                return completed
            }
            logger.warning("gateway command refused", metadata: ["code": "\(code)", "reason": "\(reason)"])
            return completed
        }
    }
}

extension GatewayOutcome {
    var label: String {
        switch self {
        case .succeeded: "succeeded"
        case .refused: "refused"
        case .unknown: "unknown"
        }
    }
}

/// The command worker as a background `Service`: a pass every `interval`, and at once when woken
/// (a command was just committed).
public struct GatewayCommandWorker: Service, CustomStringConvertible {
    let runner: GatewayCommandRunner
    let wakeups: AsyncStream<Void>
    let interval: Duration

    public init(runner: GatewayCommandRunner, wakeups: AsyncStream<Void>, interval: Duration = .seconds(1)) {
        self.runner = runner
        self.wakeups = wakeups
        self.interval = interval
    }

    public var description: String { "GatewayCommandWorker" }

    public func run() async throws {
        do {
            try await runner.releaseOwnClaims()
        } catch {
            runner.logger.warning("claims of a previous run not released; they expire with their lease", metadata: ["error": "\(error)"])
        }
        try await runPeriodically(
            every: interval, wakeups: wakeups, logger: runner.logger, failure: "gateway commands not executed; retrying"
        ) {
            try await runner.runDue()
        }
    }
}

/// The shared migration of every service that moves money at the gateway.
public enum GatewayCommandMigrations {
    public static func all() throws -> [Migration] {
        try Migration.load(source: "gateway-commands", bundle: .module)
    }
}
