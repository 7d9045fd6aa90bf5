import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import Logging
import Messaging
import Persistence
import PostgresNIO

/// Buyer wallets: store credit kept as ledger accounts (`buyer_wallet:<buyer>`), filled by balance
/// imports and admin grants. Every change is a balanced journal transaction, taken under each
/// wallet's advisory lock in buyer-id order.
struct WalletStore: Sendable {
    let escrows: EscrowStore
    var logger: Logger { escrows.logger }

    struct Balance: Sendable, Encodable, Equatable {
        var currency: String
        var balance: Int64
    }

    struct Movement: Sendable, Encodable {
        var transactionId: UUID
        /// Positive: credit to the wallet; negative: taken from it.
        var amount: Int64
        var currency: String
        var kind: String
        var memo: String
        var createdAt: Date
    }

    struct ImportRecord: Sendable, Encodable, ResponseEncodable {
        var id: UUID
        var reference: String
        var status: String
        var rowCount: Int
        var totals: [Balance]
        var createdBy: String
        var createdAt: Date
        var rolledBackBy: String?
        var rollbackReason: String?
        var rolledBackAt: Date?
    }

    func balances(of buyer: String, on connection: PostgresConnection) async throws -> [Balance] {
        try await connection.query(
            """
            SELECT currency, (-sum(amount))::int8 FROM journal_entries WHERE account = \(LedgerAccount.buyerWallet(buyer).description)
            GROUP BY currency ORDER BY currency
            """, logger: logger
        ).decode((String, Int64).self).all().map { Balance(currency: $0.0, balance: $0.1) }
    }

    func history(of buyer: String, page: PageRequest, on connection: PostgresConnection) async throws -> Page<Movement> {
        let cursor = page.cursor
        let rows = try await connection.query(
            """
            SELECT t.id, (-e.amount)::int8, e.currency, t.source, t.memo, t.created_at
            FROM journal_entries e JOIN journal_transactions t ON t.id = e.transaction_id
            WHERE e.account = \(LedgerAccount.buyerWallet(buyer).description)
              AND (\(cursor?.createdAt)::timestamptz IS NULL OR (t.created_at, t.id) < (\(cursor?.createdAt), \(cursor?.id)))
            ORDER BY t.created_at DESC, t.id DESC LIMIT \(page.limit + 1)
            """, logger: logger
        ).decode((UUID, Int64, String, String, String, Date).self).all()
        return Page(rows: rows, limit: page.limit, cursor: { PageCursor(createdAt: $0.5, id: $0.0) }) { row in
            Movement(
                transactionId: row.0, amount: row.1, currency: row.2, kind: String(row.3.split(separator: ":").first ?? ""),
                memo: row.4, createdAt: row.5)
        }
    }

    /// Serialises changes to these wallets until commit, always in the same order.
    func lock(_ buyers: some Sequence<String>, on connection: PostgresConnection) async throws {
        for buyer in Set(buyers).sorted() {
            try await connection.query(prepared:
                "SELECT pg_advisory_xact_lock(\(AdvisoryLock.buyerWallet), hashtext(\(buyer)))", logger: logger)
        }
    }

    /// An admin's store credit, once per `key`.
    func grant(
        buyer: String, amount: Int64, currency: String, reason: String, admin: String, key: String, on connection: PostgresConnection
    ) async throws -> [Balance] {
        try await lock([buyer], on: connection)
        let id = UUID()
        var journal = Journal(memo: "credit granted by \(admin): \(reason)")
        journal.debit(.walletCreditGrants, amount, currency)
        journal.credit(.buyerWallet(buyer), amount, currency)
        guard try await escrows.post(journal, source: "grant:\(key)", on: connection) else { return try await balances(of: buyer, on: connection) }
        try await connection.query(
            """
            INSERT INTO wallet_credit_grants (id, buyer_id, currency, amount, reason, granted_by)
            VALUES (\(id), \(buyer), \(currency), \(amount), \(reason), \(admin))
            """, logger: logger)
        logger.info("wallet credit granted", metadata: ["buyer": "\(buyer)", "amount": "\(amount)", "currency": "\(currency)"])
        return try await balances(of: buyer, on: connection)
    }

    /// A top-up PaymentService charged: the money is at the gateway, owed to the buyer as credit.
    func topUp(_ event: WalletToppedUp, on connection: PostgresConnection) async throws {
        try await lock([event.buyerId], on: connection)
        var journal = Journal(memo: "top-up \(event.topUpId.uuidString.lowercased().prefix(8)) (charge \(event.chargeId ?? "-"))")
        journal.debit(.gatewayClearing, event.amount, event.currency)
        journal.credit(.buyerWallet(event.buyerId), event.amount, event.currency)
        if try await escrows.post(journal, source: "topup:\(event.topUpId.uuidString.lowercased())", on: connection) {
            try await connection.query(
                """
                INSERT INTO wallet_top_ups (top_up_id, buyer_id, currency, amount, charge_id)
                VALUES (\(event.topUpId), \(event.buyerId), \(event.currency), \(event.amount), \(event.chargeId))
                """, logger: logger)
            logger.info("wallet topped up", metadata: ["buyer": "\(event.buyerId)", "amount": "\(event.amount)", "currency": "\(event.currency)"])
        }
    }

    /// Sets store credit aside for a payment that asked to spend it (`wallet.hold_requested`): as
    /// much of the balance as the payment needs, never more than there is, once per payment.
    /// Answers with `wallet.held` (zero when the wallet is empty or the hold was made before).
    func hold(_ request: WalletHoldRequested, cause: Cause, on connection: PostgresConnection) async throws {
        guard (1...WalletImport.maximumAmount).contains(request.maximum), WalletImport.problem(
            in: .init(externalId: "hold", buyerId: request.buyerId, currency: request.currency, amount: request.maximum)) == nil
        else { throw EventRejected("a wallet hold the wallet cannot take: \(request.maximum) \(request.currency) for \(request.buyerId)") }
        try await lock([request.buyerId], on: connection)
        let existing = try await connection.query(
            "SELECT amount FROM wallet_holds WHERE payment_id = \(request.paymentId)", logger: logger
        ).decode(Int64.self).all().first
        let amount: Int64
        if let existing {
            amount = existing
        } else {
            // A checkout already cancelled unpaid takes nothing: its hold would only wait to go back.
            let dead = try await connection.query(
                "SELECT 1 FROM unpaid_cancelled_checkouts WHERE checkout_id = \(request.checkoutId)", logger: logger
            ).collect()
            let balance = try await escrows.balance(of: .buyerWallet(request.buyerId), currency: request.currency, on: connection)
            amount = dead.isEmpty ? min(max(balance, 0), request.maximum) : 0
            try await connection.query(
                """
                INSERT INTO wallet_holds (payment_id, checkout_id, buyer_id, currency, amount, status)
                VALUES (\(request.paymentId), \(request.checkoutId), \(request.buyerId), \(request.currency), \(amount), 'held')
                """, logger: logger)
            if amount > 0 {
                try await escrows.post(
                    .walletHold(payment: request.paymentId, buyer: request.buyerId, amount: amount, currency: request.currency),
                    source: "wallet-hold:\(request.paymentId.uuidString.lowercased())", on: connection)
            }
            logger.info(
                "store credit held for a payment",
                metadata: ["payment_id": "\(request.paymentId)", "buyer": "\(request.buyerId)", "amount": "\(amount)", "asked": "\(request.maximum)"])
        }
        try await escrows.publish(
            WalletHeld(paymentId: request.paymentId, buyerId: request.buyerId, amount: amount, currency: request.currency),
            aggregateId: request.paymentId.uuidString.lowercased(), cause: cause, on: connection)
    }

    /// The payment succeeded: its hold funds the escrows (the caller posts that journal). A hold
    /// that went back to the wallet (the checkout expired before the card's late success) is taken
    /// again if the wallet still has it; anything else contradicts what PaymentService was told.
    func spendHold(paymentId: UUID, amount: Int64, on connection: PostgresConnection) async throws {
        let rows = try await connection.query(
            "SELECT buyer_id, currency, amount, status FROM wallet_holds WHERE payment_id = \(paymentId) FOR UPDATE", logger: logger
        ).decode((String, String, Int64, String).self).all()
        guard let (buyer, currency, held, status) = rows.first, held == amount, status != "spent" else {
            throw EventRejected("payment \(paymentId) spends \(amount) of store credit, but its hold is \(rows.first.map { "\($0.2) (\($0.3))" } ?? "missing")")
        }
        if status == "returned" {
            try await lock([buyer], on: connection)
            let balance = try await escrows.balance(of: .buyerWallet(buyer), currency: currency, on: connection)
            guard balance >= amount else {
                throw EventRejected("payment \(paymentId) succeeded after its store credit went back, and the wallet no longer has \(amount)")
            }
            try await escrows.post(
                .walletHold(payment: paymentId, buyer: buyer, amount: amount, currency: currency),
                source: "wallet-rehold:\(paymentId.uuidString.lowercased())", on: connection)
        }
        try await connection.query(
            "UPDATE wallet_holds SET status = 'spent', updated_at = now() WHERE payment_id = \(paymentId)", logger: logger)
    }

    /// The payment failed or was cancelled: whatever it held goes back to the wallet, once.
    func returnHold(paymentId: UUID, on connection: PostgresConnection) async throws {
        try await returnHolds(where: "payment_id = \(paymentId)", on: connection)
    }

    /// The checkout's orders were cancelled unpaid: its payment's hold goes back, and a hold
    /// asked for later takes nothing.
    func checkoutCancelledUnpaid(_ checkoutId: UUID, on connection: PostgresConnection) async throws {
        try await connection.query(
            "INSERT INTO unpaid_cancelled_checkouts (checkout_id) VALUES (\(checkoutId)) ON CONFLICT DO NOTHING", logger: logger)
        try await returnHolds(where: "checkout_id = \(checkoutId)", on: connection)
    }

    private func returnHolds(where condition: PostgresQuery, on connection: PostgresConnection) async throws {
        var query = PostgresQuery(unsafeSQL: "SELECT payment_id, buyer_id FROM wallet_holds WHERE status = 'held' AND ")
        query.sql += condition.sql
        query.binds = condition.binds
        let holds = try await connection.query(query, logger: logger).decode((UUID, String).self).all()
        try await lock(holds.map(\.1), on: connection)
        for (paymentId, _) in holds {
            let rows = try await connection.query(
                """
                UPDATE wallet_holds SET status = 'returned', updated_at = now() WHERE payment_id = \(paymentId) AND status = 'held'
                RETURNING buyer_id, currency, amount
                """, logger: logger
            ).decode((String, String, Int64).self).all()
            guard let (buyer, currency, amount) = rows.first else { continue }
            if amount > 0 {
                try await escrows.post(
                    .walletReturn(payment: paymentId, buyer: buyer, amount: amount, currency: currency),
                    source: "wallet-return:\(paymentId.uuidString.lowercased())", on: connection)
            }
            logger.info("store credit returned to the wallet", metadata: ["payment_id": "\(paymentId)", "buyer": "\(buyer)", "amount": "\(amount)"])
        }
    }

    enum ImportOutcome {
        case applied(ImportRecord)
        /// The reference was applied before with these same rows: its record, unchanged.
        case replayed(ImportRecord)
        /// Rows already imported (by external id), each with the reference that has it.
        case alreadyImported([WalletImport.Problem])
    }

    /// Books every row against the opening-balance account, one journal transaction per row
    /// (`import-row:<external id>`), all in the caller's transaction.
    func apply(_ parsed: WalletImport, reference: String, admin: String, on connection: PostgresConnection) async throws -> ImportOutcome {
        try await connection.query(
            "SELECT pg_advisory_xact_lock(\(AdvisoryLock.buyerWallet), hashtext(\("import:" + reference)))", logger: logger)
        if let existing = try await record(reference: reference, on: connection) {
            let stored = try await connection.query(
                "SELECT external_id, buyer_id, currency, amount FROM wallet_import_rows WHERE import_id = \(existing.id) ORDER BY line",
                logger: logger
            ).decode((String, String, String, Int64).self).all().map {
                WalletImport.Row(externalId: $0.0, buyerId: $0.1, currency: $0.2, amount: $0.3)
            }
            guard stored == parsed.rows else {
                throw Problem.conflict("Import \(reference) was applied with other rows; use a new reference.", extensions: ["currentState": existing.status])
            }
            return .replayed(existing)
        }
        let taken = try await connection.query(
            """
            SELECT r.external_id, i.reference FROM wallet_import_rows r JOIN wallet_imports i ON i.id = r.import_id
            WHERE r.external_id = ANY(\(parsed.rows.map(\.externalId)))
            """, logger: logger
        ).decode((String, String).self).all()
        if !taken.isEmpty {
            let lines = Dictionary(parsed.rows.enumerated().map { ($1.externalId, $0 + 1) }, uniquingKeysWith: { first, _ in first })
            return .alreadyImported(taken.map {
                WalletImport.Problem(line: lines[$0.0] ?? 0, externalId: $0.0, message: "already imported by \($0.1)")
            }.sorted { $0.line < $1.line })
        }
        try await lock(parsed.rows.map(\.buyerId), on: connection)
        let id = UUID()
        try await connection.query(
            """
            INSERT INTO wallet_imports (id, reference, status, row_count, created_by)
            VALUES (\(id), \(reference), 'applied', \(parsed.rows.count), \(admin))
            """, logger: logger)
        for (index, row) in parsed.rows.enumerated() {
            try await connection.query(
                """
                INSERT INTO wallet_import_rows (import_id, line, external_id, buyer_id, currency, amount)
                VALUES (\(id), \(index + 1), \(row.externalId), \(row.buyerId), \(row.currency), \(row.amount))
                """, logger: logger)
            var journal = Journal(memo: "opening balance imported (\(reference), \(row.externalId))")
            journal.debit(.walletOpeningBalances, row.amount, row.currency)
            journal.credit(.buyerWallet(row.buyerId), row.amount, row.currency)
            _ = try await escrows.post(journal, source: "import-row:\(row.externalId)", on: connection)
        }
        logger.info("wallet balances imported", metadata: ["reference": "\(reference)", "rows": "\(parsed.rows.count)"])
        return .applied(try await record(reference: reference, on: connection)!)
    }

    /// Takes a whole import back, only while every wallet it filled still holds what it got (so no
    /// wallet goes negative and nothing already spent is clawed back).
    func rollback(_ id: UUID, reason: String, admin: String, on connection: PostgresConnection) async throws -> ImportRecord {
        let rows = try await connection.query(
            "SELECT buyer_id, currency, sum(amount)::int8 FROM wallet_import_rows WHERE import_id = \(id) GROUP BY buyer_id, currency",
            logger: logger
        ).decode((String, String, Int64).self).all()
        try await lock(rows.map(\.0), on: connection)
        guard let current = try await record(id: id, lock: true, on: connection) else { throw Problem.notFound("No import \(id.uuidString.lowercased()).") }
        guard current.status == "applied" else {
            throw Problem.conflict("The import is already rolled back.", extensions: ["currentState": current.status])
        }
        var short: [String] = []
        for (buyer, currency, imported) in rows {
            let balance = try await balances(of: buyer, on: connection).first { $0.currency == currency }?.balance ?? 0
            if balance < imported { short.append("\(buyer) holds \(balance) \(currency) of \(imported) imported") }
        }
        guard short.isEmpty else {
            throw Problem.conflict(
                "Part of the import was spent, so it cannot be rolled back: \(short.prefix(10).joined(separator: "; ")).",
                extensions: ["currentState": current.status])
        }
        var journal = Journal(memo: "import \(current.reference) rolled back by \(admin): \(reason)")
        for (buyer, currency, imported) in rows {
            journal.debit(.buyerWallet(buyer), imported, currency)
            journal.credit(.walletOpeningBalances, imported, currency)
        }
        _ = try await escrows.post(journal, source: "import-rollback:\(current.reference)", on: connection)
        try await connection.query(
            """
            UPDATE wallet_imports SET status = 'rolled_back', rolled_back_by = \(admin), rollback_reason = \(reason), rolled_back_at = now()
            WHERE id = \(id)
            """, logger: logger)
        logger.info("wallet import rolled back", metadata: ["reference": "\(current.reference)"])
        return try await record(id: id, lock: false, on: connection)!
    }

    func record(id: UUID, lock: Bool = false, on connection: PostgresConnection) async throws -> ImportRecord? {
        try await records(
            "SELECT \(unescaped: Self.importColumns) FROM wallet_imports WHERE id = \(id) \(unescaped: lock ? "FOR UPDATE" : "")",
            on: connection
        ).first
    }

    func record(reference: String, on connection: PostgresConnection) async throws -> ImportRecord? {
        try await records("SELECT \(unescaped: Self.importColumns) FROM wallet_imports WHERE reference = \(reference)", on: connection).first
    }

    static let importColumns = "id, reference, status, row_count, created_by, created_at, rolled_back_by, rollback_reason, rolled_back_at"

    private func records(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [ImportRecord] {
        let rows = try await connection.query(query, logger: logger)
            .decode((UUID, String, String, Int32, String, Date, String?, String?, Date?).self).all()
        var records: [ImportRecord] = []
        for row in rows {
            let totals = try await connection.query(
                "SELECT currency, sum(amount)::int8 FROM wallet_import_rows WHERE import_id = \(row.0) GROUP BY currency ORDER BY currency",
                logger: logger
            ).decode((String, Int64).self).all().map { Balance(currency: $0.0, balance: $0.1) }
            records.append(ImportRecord(
                id: row.0, reference: row.1, status: row.2, rowCount: Int(row.3), totals: totals, createdBy: row.4, createdAt: row.5,
                rolledBackBy: row.6, rollbackReason: row.7, rolledBackAt: row.8))
        }
        return records
    }
}
