import NIOCore
import PostgresNIO

/// An error that knows whether trying the same work again later may succeed.
public protocol RetriableError: Error {
    var isRetriable: Bool { get }
}

extension PersistenceError: RetriableError {}

/// Sorts failures into those worth retrying (the database, broker or gateway was briefly away
/// or busy) and the rest. Consumers and workers retry transient ones without giving up.
public enum TransientErrors {
    /// SQLSTATE classes and codes worth a retry: connection exceptions (08), insufficient
    /// resources (53), operator intervention (57: shutdown, statement timeout), system errors
    /// (58), serialization failure and deadlock (40001, 40P01), lock not available (55P03).
    private static let retriableStates: Set<String> = ["40001", "40P01", "55P03"]
    private static let retriableClasses: Set<Substring> = ["08", "53", "57", "58"]

    /// The SQLSTATE of a Postgres server error, looking inside transaction wrappers.
    public static func sqlState(of error: any Error) -> String? {
        switch error {
        case let error as PSQLError:
            return error.code == .server ? error.serverInfo?[.sqlState] : nil
        case let error as PostgresTransactionError:
            return [error.closureError, error.beginError, error.commitError].lazy.compactMap { $0 }.compactMap(sqlState).first
        default:
            return nil
        }
    }

    /// True for a deadlock or serialization failure: the whole transaction may simply run again.
    public static func isConcurrencyConflict(_ error: any Error) -> Bool {
        guard let state = sqlState(of: error) else { return false }
        return state == "40P01" || state == "40001"
    }

    /// True when the same work may succeed later without anything being changed.
    public static func isTransient(_ error: any Error) -> Bool {
        switch error {
        case let error as PSQLError:
            switch error.code {
            case .server:
                guard let state = error.serverInfo?[.sqlState] else { return false }
                return retriableStates.contains(state) || retriableClasses.contains(state.prefix(2))
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
                 .queryCancelled, .listenFailed, .unlistenFailed:
                return true
            default:
                return false
            }
        case let error as PostgresTransactionError:
            return [error.closureError, error.beginError, error.commitError, error.rollbackError]
                .lazy.compactMap { $0 }.contains(where: isTransient)
        case let error as any RetriableError:
            return error.isRetriable
        case is ChannelError, is IOError, is CancellationError:
            return true
        default:
            return false
        }
    }
}
