import Foundation
import StripeClient

/// Transfers to sellers' connected accounts ("separate charges and transfers").
protocol EscrowGateway: Sendable {
    /// A transfer of the seller's net, funded by the original charge; the idempotency key is
    /// derived from the escrow id, so a retry can never pay twice.
    func transfer(
        amount: Int64, currency: String, destination: String, sourceTransaction: String?, transferGroup: String,
        idempotencyKey: String
    ) async throws(StripeError) -> Transfer
}

struct StripeEscrowGateway: EscrowGateway {
    let client: StripeClient

    func transfer(
        amount: Int64, currency: String, destination: String, sourceTransaction: String?, transferGroup: String,
        idempotencyKey: String
    ) async throws(StripeError) -> Transfer {
        var fields: [(String, StripeFormValue)] = [
            ("amount", .integer(amount)), ("currency", .string(currency)), ("destination", .string(destination)),
            ("transfer_group", .string(transferGroup)),
        ]
        if let sourceTransaction { fields.append(("source_transaction", .string(sourceTransaction))) }
        return try await client.post("/v1/transfers", fields, idempotencyKey: idempotencyKey)
    }
}

/// Local stand-in: the same key always yields the same transfer, as Stripe's idempotency does.
struct SimulatedEscrowGateway: EscrowGateway {
    func transfer(
        amount: Int64, currency: String, destination: String, sourceTransaction: String?, transferGroup: String,
        idempotencyKey: String
    ) async throws(StripeError) -> Transfer {
        let id = "tr_sim_" + String(idempotencyKey.filter { $0.isLetter || $0.isNumber }.suffix(24))
        let json = """
            {"id":"\(id)","object":"transfer","amount":\(amount),"amount_reversed":0,"currency":"\(currency)",
             "destination":"\(destination)","transfer_group":"\(transferGroup)","reversed":false,"metadata":{}}
            """
        do {
            return try JSONDecoder().decode(Transfer.self, from: Data(json.utf8))
        } catch {
            throw StripeError(kind: .api, message: "simulated transfer: \(error)")
        }
    }
}
