import Logging
import PostgresNIO

extension PostgresClient {
    /// `withTransaction` that rethrows the closure's own error (rolled back) rather than
    /// postgres-nio's wrapper, so domain errors such as a 409 problem reach their handlers.
    ///
    /// A deadlock (40P01) or serialization failure (40001) rolls the whole transaction back, and a
    /// connection that died before BEGIN ran nothing; either runs again, up to `attempts` times,
    /// so `body` must keep no state outside the transaction.
    public func inTransaction<Result: Sendable>(
        logger: Logger, attempts: Int = 5, _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        var attempt = 1
        while true {
            do {
                do {
                    return try await withTransaction(logger: logger) { connection in try await body(connection) }
                } catch let error as PostgresTransactionError {
                    if let closureError = error.closureError, error.rollbackError == nil { throw closureError }
                    throw error
                }
            } catch {
                guard attempt < attempts, TransientErrors.isConcurrencyConflict(error) || Self.failedToBegin(error) else { throw error }
                logger.info(
                    "transaction could not complete (deadlock, serialization failure or a dead pooled connection); running it again",
                    metadata: ["sqlstate": "\(TransientErrors.sqlState(of: error) ?? "-")", "attempt": "\(attempt)"])
                // A short random pause lets the other transaction finish before this one retries.
                try await Task.sleep(for: .milliseconds(Int.random(in: 5...(20 * attempt))))
                attempt += 1
            }
        }
    }

    /// The pool lent a connection that had just died: BEGIN failed, nothing ran, run it again.
    private static func failedToBegin(_ error: any Error) -> Bool {
        guard let error = error as? PostgresTransactionError, let begin = error.beginError, error.closureError == nil else { return false }
        return TransientErrors.isTransient(begin)
    }
}
