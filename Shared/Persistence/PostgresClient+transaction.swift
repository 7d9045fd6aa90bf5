import Logging
import PostgresNIO

extension PostgresClient {
    /// `withTransaction` that rethrows the closure's own error (rolled back) rather than
    /// postgres-nio's wrapper, so domain errors such as a 409 problem reach their handlers.
    ///
    /// A deadlock (40P01) or serialization failure (40001) rolls the whole transaction back; it
    /// runs again, up to `attempts` times, so `body` must keep no state outside the transaction.
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
                guard attempt < attempts, TransientErrors.isConcurrencyConflict(error) else { throw error }
                logger.info(
                    "transaction conflicted with another; running it again",
                    metadata: ["sqlstate": "\(TransientErrors.sqlState(of: error) ?? "-")", "attempt": "\(attempt)"])
                // A short random pause lets the other transaction finish before this one retries.
                try await Task.sleep(for: .milliseconds(Int.random(in: 5...(20 * attempt))))
                attempt += 1
            }
        }
    }
}
