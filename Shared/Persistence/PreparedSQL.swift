import Logging
import PostgresNIO
import Synchronization

/// A query each connection parses and plans once, as a named prepared statement. It is written
/// like a `PostgresQuery` (`"... WHERE id = \(id)"`) and run with `connection.query(prepared:)`.
///
/// A `PostgresQuery` is parsed, analysed and planned again on every execution: about a third of
/// Postgres's CPU in the checkout benchmark. postgres-nio prepares a statement per *type*
/// (`PostgresPreparedStatement.sql` is static), so `StatementRegistry` gives each distinct text
/// and parameter-type list a type of its own at run time (`StatementSlot`).
///
/// Use it for fixed statements on hot paths. A statement whose text varies (an `unescaped`
/// list, a dynamic `ORDER BY`) takes a registry slot per variant; past the registry's capacity
/// they run unprepared.
public struct PreparedSQL: Sendable, ExpressibleByStringInterpolation {
    public var sql: String
    public var binds: PostgresBindings
    /// The parameters' types, sent when the statement is prepared. A `NULL` has none (`.null`):
    /// Postgres infers it, and a later execution with a value is another statement.
    public var types: [PostgresDataType]

    public init(stringLiteral value: String) {
        self.sql = value
        self.binds = PostgresBindings()
        self.types = []
    }

    public init(stringInterpolation: StringInterpolation) {
        self.sql = stringInterpolation.sql
        self.binds = stringInterpolation.binds
        self.types = stringInterpolation.types
    }

    /// The same statement, unprepared.
    public var unprepared: PostgresQuery { PostgresQuery(unsafeSQL: sql, binds: binds) }

    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        var sql = ""
        var binds: PostgresBindings
        var types: [PostgresDataType] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            binds = PostgresBindings(capacity: interpolationCount)
            types.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql.append(contentsOf: literal)
        }

        public mutating func appendInterpolation<Value: PostgresThrowingDynamicTypeEncodable>(_ value: Value) throws {
            try binds.append(value, context: .default)
            parameter(value.psqlType)
        }

        public mutating func appendInterpolation<Value: PostgresThrowingDynamicTypeEncodable>(_ value: Value?) throws {
            guard let value else { return null() }
            try appendInterpolation(value)
        }

        public mutating func appendInterpolation<Value: PostgresDynamicTypeEncodable>(_ value: Value) {
            binds.append(value, context: .default)
            parameter(value.psqlType)
        }

        public mutating func appendInterpolation<Value: PostgresDynamicTypeEncodable>(_ value: Value?) {
            guard let value else { return null() }
            appendInterpolation(value)
        }

        /// Raw SQL text (a schema or table name the code chose, never input).
        public mutating func appendInterpolation(unescaped interpolated: String) {
            sql.append(contentsOf: interpolated)
        }

        private mutating func null() {
            binds.appendNull()
            parameter(.null)
        }

        private mutating func parameter(_ type: PostgresDataType) {
            types.append(type)
            sql.append(contentsOf: "$\(binds.count)")
        }
    }
}

extension PostgresConnection {
    /// Runs `statement` as a prepared statement of this connection: prepared on its first use
    /// here, then only bound and executed.
    ///
    /// postgres-nio remembers a failed preparation for the connection's life and fails every
    /// later execution of that statement with the same error. A statement whose first execution
    /// on a connection failed (the preparation may have: an aborted transaction, a cancelled
    /// statement, a bug) therefore runs unprepared on that connection from then on. Once a
    /// statement ran here, its errors are the execution's and change nothing.
    @discardableResult
    public func query(
        prepared statement: PreparedSQL, logger: Logger, file: String = #fileID, line: Int = #line
    ) async throws -> AsyncThrowingMapSequence<PostgresRowSequence, PostgresRow> {
        let registry = StatementRegistry.shared
        guard let slot = registry.slot(sql: statement.sql, types: statement.types),
            !registry.isSpoiled(slot: slot.index, on: self)
        else {
            return try await query(statement.unprepared, logger: logger, file: file, line: line).map { $0 }
        }
        do {
            let rows = try await execute(slot.tag, bindings: statement.binds, logger: logger, file: file, line: line)
            registry.prepared(slot: slot.index, on: self)
            return rows
        } catch {
            registry.failed(slot: slot.index, on: self)
            throw error
        }
    }

    private func execute<Tag: StatementTag>(
        _: Tag.Type, bindings: PostgresBindings, logger: Logger, file: String, line: Int
    ) async throws -> AsyncThrowingMapSequence<PostgresRowSequence, PostgresRow> {
        try await execute(StatementSlot<Tag>(bindings: bindings), logger: logger, file: file, line: line)
    }
}

/// Gives each distinct statement (text and parameter types) a slot, and each slot a type.
/// Process-wide: a slot's text never changes, so every connection prepares the same text under
/// the same name.
final class StatementRegistry: Sendable {
    static let shared = StatementRegistry(capacity: 1024)

    struct Slot: Sendable {
        let index: Int
        let tag: any StatementTag.Type
    }

    private struct Key: Hashable {
        let sql: String
        let types: [PostgresDataType]
    }

    /// The slots one connection has run (`prepared`) or failed to run the first time (`spoiled`).
    /// Known by the connection object itself, checked through a weak reference: connection ids
    /// repeat across pools, and a closed connection's address can be reused by a new one.
    private struct ConnectionUses {
        weak var connection: PostgresConnection?
        var prepared: Set<Int> = []
        var spoiled: Set<Int> = []
    }

    private struct State {
        var slots: [Key: Slot] = [:]
        var statements: [Key] = []
        var connections: [ObjectIdentifier: ConnectionUses] = [:]
        /// Entries of closed connections are dropped when the table has doubled since the last time.
        var pruneAt = 64

        /// The connection's entry, new if it had none (or only a dead namesake's).
        mutating func uses(of connection: PostgresConnection) -> ConnectionUses {
            let key = ObjectIdentifier(connection)
            if let uses = connections[key], uses.connection === connection { return uses }
            if connections.count >= pruneAt {
                connections = connections.filter { $0.value.connection != nil }
                pruneAt = max(64, connections.count * 2)
            }
            return ConnectionUses(connection: connection)
        }
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The slot of a statement, made on first sight; nil once `capacity` statements have slots.
    func slot(sql: String, types: [PostgresDataType]) -> Slot? {
        let key = Key(sql: sql, types: types)
        return state.withLock { state in
            if let slot = state.slots[key] { return slot }
            guard state.statements.count < capacity else { return nil }
            state.statements.append(key)
            let index = state.statements.count
            let slot = Slot(index: index, tag: StatementTags.tag(for: index))
            state.slots[key] = slot
            return slot
        }
    }

    func sql(slot index: Int) -> String {
        state.withLock { $0.statements[index - 1].sql }
    }

    func types(slot index: Int) -> [PostgresDataType] {
        state.withLock { $0.statements[index - 1].types }
    }

    func isSpoiled(slot index: Int, on connection: PostgresConnection) -> Bool {
        state.withLock { state in
            guard let uses = state.connections[ObjectIdentifier(connection)], uses.connection === connection else { return false }
            return uses.spoiled.contains(index)
        }
    }

    func prepared(slot index: Int, on connection: PostgresConnection) {
        state.withLock { state in
            let key = ObjectIdentifier(connection)
            if let uses = state.connections[key], uses.connection === connection, uses.prepared.contains(index) { return }
            var uses = state.uses(of: connection)
            uses.prepared.insert(index)
            state.connections[key] = uses
        }
    }

    func failed(slot index: Int, on connection: PostgresConnection) {
        state.withLock { state in
            var uses = state.uses(of: connection)
            guard !uses.prepared.contains(index) else { return }
            uses.spoiled.insert(index)
            state.connections[ObjectIdentifier(connection)] = uses
        }
    }
}

/// The prepared statement of one registry slot. Its name, text and parameter types are static,
/// as postgres-nio wants, and come from the registry through the slot's type.
struct StatementSlot<Tag: StatementTag>: PostgresPreparedStatement {
    typealias Row = PostgresRow
    static var name: String { "escrowmarket_\(Tag.index)" }
    static var sql: String { StatementRegistry.shared.sql(slot: Tag.index) }
    static var bindingDataTypes: [PostgresDataType] { StatementRegistry.shared.types(slot: Tag.index) }

    let bindings: PostgresBindings

    func makeBindings() -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}

/// A type that stands for a positive integer, so that a slot number can become a distinct type
/// at run time: `One` is 1, `Twice<T>` is 2·T and `TwicePlusOne<T>` is 2·T + 1.
protocol StatementTag: Sendable {
    static var index: Int { get }
}

enum One: StatementTag {
    static var index: Int { 1 }
}

enum Twice<Half: StatementTag>: StatementTag {
    static var index: Int { Half.index * 2 }
}

enum TwicePlusOne<Half: StatementTag>: StatementTag {
    static var index: Int { Half.index * 2 + 1 }
}

enum StatementTags {
    /// The type standing for `index` (≥ 1), built from its binary digits.
    static func tag(for index: Int) -> any StatementTag.Type {
        if index <= 1 { return One.self }
        let half = tag(for: index / 2)
        return index.isMultiple(of: 2) ? twice(half) : twicePlusOne(half)
    }

    private static func twice<Half: StatementTag>(_: Half.Type) -> any StatementTag.Type {
        Twice<Half>.self
    }

    private static func twicePlusOne<Half: StatementTag>(_: Half.Type) -> any StatementTag.Type {
        TwicePlusOne<Half>.self
    }
}

extension AsyncThrowingMapSequence where Base == PostgresRowSequence, Element == PostgresRow {
    /// Every row (for small, bounded results), like `PostgresRowSequence.collect()`.
    public func collect() async throws -> [PostgresRow] {
        try await all()
    }
}
