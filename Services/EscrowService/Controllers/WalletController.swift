import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import NIOConcurrencyHelpers
import PostgresNIO
import ServiceRuntime

/// Buyer wallets (store credit): the buyer's balance and history, admin credit grants, and
/// balance imports from another marketplace (dry run, apply, rollback).
struct WalletController: Sendable {
    let wallets: WalletStore
    let postgres: PostgresClient
    let idempotency: IdempotencyStore

    struct Wallet: Encodable, ResponseEncodable {
        var buyerId: String
        var balances: [WalletStore.Balance]
        var history: Page<WalletStore.Movement>
    }

    struct Grant: Decodable {
        var amount: Int64
        var currency: String
        var reason: String
    }

    struct Rollback: Decodable {
        var reason: String
    }

    struct DryRun: Encodable, ResponseEncodable {
        var reference: String
        var dryRun = true
        /// No problem: applying it would book every row.
        var valid: Bool
        var rowCount: Int
        var totals: [WalletStore.Balance]
        var problems: [WalletImport.Problem]
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("wallet") { request, context in
            let buyer = try context.requireRole(.buyer)
            return try await wallet(of: buyer.id, request, context)
        }
        group.get("admin/wallets/{buyerId}") { request, context in
            _ = try context.requireRole(.admin)
            return try await wallet(of: try Self.buyerId(context), request, context)
        }
        group.post("admin/wallets/{buyerId}/credits") { request, context in try await grant(request, context) }
        group.post("admin/wallet-imports") { request, context in try await importBalances(request, context) }
        group.get("admin/wallet-imports/{id}") { _, context in
            _ = try context.requireRole(.admin)
            let id = try context.parameters.require("id", as: UUID.self)
            guard let record = try await postgres.withConnection({ try await wallets.record(id: id, on: $0) }) else {
                throw Problem.notFound("No import \(id.uuidString.lowercased()).")
            }
            return record
        }
        group.post("admin/wallet-imports/{id}/rollback") { request, context in
            let admin = try context.requireRole(.admin)
            let id = try context.parameters.require("id", as: UUID.self)
            let body = try await DisputesController.decode(Rollback.self, request, context)
            let reason = try DisputesController.text(body.reason, "reason", max: 500)
            return try await postgres.inTransaction(logger: context.logger) { connection in
                try await wallets.rollback(id, reason: reason, admin: admin.id, on: connection)
            }
        }
    }

    func wallet(of buyer: String, _ request: Request, _ context: AppRequestContext) async throws -> Wallet {
        let page = try PageRequest(limit: request.uri.queryParameters.get("limit"), cursor: request.uri.queryParameters.get("cursor"))
        return try await postgres.withConnection { connection in
            Wallet(
                buyerId: buyer, balances: try await wallets.balances(of: buyer, on: connection),
                history: try await wallets.history(of: buyer, page: page, on: connection))
        }
    }

    func grant(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let admin = try context.requireRole(.admin)
        let buyer = try Self.buyerId(context)
        let raw = try await request.body.collect(upTo: 16 * 1024)
        let body = try EventCoding.decoder.decode(Grant.self, from: Data(buffer: raw))
        let reason = try DisputesController.text(body.reason, "reason", max: 500)
        let currency = body.currency.lowercased()
        let probe = WalletImport.Row(externalId: "grant", buyerId: buyer, currency: currency, amount: body.amount)
        if let problem = WalletImport.problem(in: probe) { throw Problem.validation(problem + ".") }
        let key = request.headers[.idempotencyKey] ?? ""
        return try await idempotency.run(request: request, context: context, body: raw) { connection in
            let balances = try await wallets.grant(
                buyer: buyer, amount: body.amount, currency: currency, reason: reason, admin: admin.id, key: "\(admin.id):\(key)",
                on: connection)
            return try .init(status: .created, body: Wallet(buyerId: buyer, balances: balances, history: Page(items: [], nextCursor: nil)))
        }
    }

    /// `?reference=…&dryRun=true|false`, the rows as `text/csv` or `application/json`.
    func importBalances(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let admin = try context.requireRole(.admin)
        let query = request.uri.queryParameters
        guard let reference = query.get("reference"), (1...200).contains(reference.count), WalletImport.isPlain(reference) else {
            throw Problem.badRequest("reference (1 to 200 characters, no control characters) names the import; the same reference and rows apply once.")
        }
        let dryRun: Bool
        switch query.get("dryRun") {
        case nil, "true": dryRun = true
        case "false": dryRun = false
        default: throw Problem.badRequest("dryRun must be true or false.")
        }
        let raw = try await request.body.collect(upTo: 2 * 1024 * 1024)
        let type = request.headers[.contentType]?.lowercased() ?? ""
        let parsed: WalletImport
        if type.hasPrefix("text/csv") {
            guard let text = String(validating: raw.readableBytesView, as: UTF8.self) else { throw Problem.badRequest("The CSV is not UTF-8.") }
            parsed = WalletImport.csv(text)
        } else if type.hasPrefix("application/json") {
            parsed = WalletImport.json(Data(buffer: raw))
        } else {
            throw Problem(
                status: .unsupportedMediaType, type: "/problems/unsupported-media-type", title: "Unsupported media type",
                detail: "Send the rows as text/csv or application/json.")
        }
        guard parsed.malformed.isEmpty else {
            throw Problem.validation("The rows cannot be read: " + parsed.malformed.prefix(3).map(\.message).joined(separator: "; ") + ".")
        }
        let totals = parsed.totals.sorted { $0.key < $1.key }.map { WalletStore.Balance(currency: $0.key, balance: $0.value) }
        if dryRun {
            return try DryRun(reference: reference, valid: parsed.problems.isEmpty, rowCount: parsed.rows.count, totals: totals, problems: parsed.problems)
                .response(from: request, context: context)
        }
        guard parsed.problems.isEmpty else {
            throw Problem.validation(
                "\(parsed.problems.count) row(s) have problems; nothing was imported. Run with dryRun=true for all of them. First: "
                    + parsed.problems.prefix(3).map { "line \($0.line): \($0.message)" }.joined(separator: "; "))
        }
        let outcome = try await postgres.inTransaction(logger: context.logger) { connection in
            try await wallets.apply(parsed, reference: reference, admin: admin.id, on: connection)
        }
        switch outcome {
        case .applied(let record): return try EditedResponse(status: .created, response: record).response(from: request, context: context)
        case .replayed(let record): return try record.response(from: request, context: context)
        case .alreadyImported(let problems):
            throw Problem.conflict(
                "\(problems.count) row(s) were imported before; nothing was imported. First: "
                    + problems.prefix(3).map { "line \($0.line) (\($0.externalId ?? "-")): \($0.message)" }.joined(separator: "; "))
        }
    }

    static func buyerId(_ context: AppRequestContext) throws -> String {
        guard let buyer = context.parameters.get("buyerId"), (1...200).contains(buyer.count), !buyer.contains(":"), WalletImport.isPlain(buyer) else {
            throw Problem.badRequest("buyerId must be 1 to 200 characters without ':'.")
        }
        return buyer
    }
}
