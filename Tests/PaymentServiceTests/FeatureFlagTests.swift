import EventContracts
import Foundation
import Testing
import TestSupport

@testable import PaymentService

/// Each flag in each position routes its flow; only admins change them, with a reason.
@Suite struct FeatureFlagTests {
    func set(_ service: ServiceHarness, _ name: String, _ enabled: Bool, as user: String = "ops", roles: [String] = ["admin"]) async throws -> HTTPReply {
        try await service.call(.put, "/api/v1/admin/flags", as: user, roles: roles, body: ["flags": JSONValue.object([name: .bool(enabled)]), "reason": "test"])
    }

    @Test func checkoutSessionsFollowTheirFlag() async throws {
        try await ServiceHarness.payments { service in
            let (checkout, _) = try await service.announceCheckout(buyer: "buyer-ff", amounts: [1500])
            let body: [String: String] = ["checkoutId": checkout.uuidString, "successUrl": "https://shop.example/ok", "cancelUrl": "https://shop.example/no"]
            #expect(try await set(service, "checkoutSessions.enabled", false).status == .ok)
            let off = try await service.call(.post, "/api/v1/payments/checkout-session", as: "buyer-ff", roles: ["buyer"], body: body)
            #expect(off.status == .notFound && off.text.contains("checkoutSessions.enabled"), "\(off.text)")
            #expect(try await service.call(.get, "/api/v1/flags", as: "buyer-ff", roles: ["buyer"]).json()["flags"] as? [String: Bool]
                    == ["checkoutSessions.enabled": false, "wallet.enabled": true, "wallet.spendFirst": false])
            #expect(try await set(service, "checkoutSessions.enabled", true).status == .ok)
            #expect(try await service.call(.post, "/api/v1/payments/checkout-session", as: "buyer-ff", roles: ["buyer"], body: body).status == .ok)
        }
    }

    @Test func topUpsFollowTheWalletFlagButOnesAlreadyMadeCanBePaid() async throws {
        try await ServiceHarness.payments { service in
            let create: [String: JSONValue] = ["amount": 1000, "currency": "usd"]
            let made = try await service.call(.post, "/api/v1/wallet/top-ups", as: "buyer-fw", roles: ["buyer"], body: create, idempotencyKey: "k-1")
            let id = try #require(try made.json()["id"] as? String)
            #expect(try await set(service, "wallet.enabled", false).status == .ok)
            let off = try await service.call(.post, "/api/v1/wallet/top-ups", as: "buyer-fw", roles: ["buyer"], body: create, idempotencyKey: "k-2")
            #expect(off.status == .notFound && off.text.contains("wallet.enabled"), "\(off.text)")
            let paid = try await service.call(.post, "/api/v1/wallet/top-ups/\(id)/confirm", as: "buyer-fw", roles: ["buyer"], body: ["paymentMethod": "pm_card_visa"])
            #expect(paid.status == .ok, "\(paid.text)")
            #expect(try await set(service, "wallet.enabled", true).status == .ok)
            #expect(try await service.call(.post, "/api/v1/wallet/top-ups", as: "buyer-fw", roles: ["buyer"], body: create, idempotencyKey: "k-2").status == .created)
        }
    }

    @Test func onlyAdminsSetKnownFlagsWithAReasonAndItIsRecorded() async throws {
        try await ServiceHarness.payments { service in
            #expect(try await set(service, "wallet.enabled", false, as: "buyer-x", roles: ["buyer"]).status == .forbidden)
            #expect(try await set(service, "wallet.free_money", true).status == .unprocessableContent)
            let noReason = try await service.call(.put, "/api/v1/admin/flags", as: "ops", roles: ["admin"], body: ["flags": JSONValue.object(["wallet.enabled": false]), "reason": " "])
            #expect(noReason.status == .unprocessableContent)
            #expect(try await set(service, "wallet.enabled", false).status == .ok)
            let listed = try await service.call(.get, "/api/v1/admin/flags", as: "ops", roles: ["admin"]).json()
            let wallet = try #require((listed["flags"] as? [[String: Any]])?.first { $0["name"] as? String == "wallet.enabled" })
            #expect(wallet["enabled"] as? Bool == false && wallet["defaultValue"] as? Bool == true && wallet["updatedBy"] as? String == "ops")
        }
    }
}
