import Foundation
import Testing

@testable import EscrowService

@Suite struct SettlementTests {
    @Test func aSplitAddsUpToTheCentForEveryRefundAmount() throws {
        let gross: Int64 = 10_001
        let fee = FeePolicy(basisPoints: 500, fixedAmount: 30).fee(on: gross)
        for refund in Int64(1)..<gross {
            let split = try Settlement.divide(.split, held: gross, gross: gross, fee: fee, refundAmount: refund)
            #expect(split.refund + split.fee + split.net == gross)
            #expect(split.refund == refund && split.releaseGross == gross - refund)
            #expect(split.fee >= 0 && split.fee <= fee && split.net >= 0)
        }
    }

    @Test func refundAndReleaseTakeEverythingHeld() throws {
        let refund = try Settlement.divide(.refund, held: 4000, gross: 5000, fee: 250, refundAmount: nil)
        #expect(refund == Settlement(refund: 4000, releaseGross: 0, fee: 0))
        let release = try Settlement.divide(.release, held: 5000, gross: 5000, fee: 250, refundAmount: nil)
        #expect(release == Settlement(refund: 0, releaseGross: 5000, fee: 250))
        #expect(release.net == 4750)
        // The fee shrinks with the part released.
        #expect(try Settlement.divide(.split, held: 5000, gross: 5000, fee: 250, refundAmount: 2500).fee == 125)
    }

    @Test func badSplitsAreRefused() {
        #expect(throws: Settlement.Error.refundAmountRequired) { try Settlement.divide(.split, held: 100, gross: 100, fee: 5, refundAmount: nil) }
        #expect(throws: Settlement.Error.refundAmountOutOfRange(held: 100)) { try Settlement.divide(.split, held: 100, gross: 100, fee: 5, refundAmount: 100) }
        #expect(throws: Settlement.Error.refundAmountOutOfRange(held: 100)) { try Settlement.divide(.split, held: 100, gross: 100, fee: 5, refundAmount: 0) }
        #expect(throws: Settlement.Error.refundAmountOutOfRange(held: 100)) { try Settlement.divide(.split, held: 100, gross: 100, fee: 5, refundAmount: -3) }
        #expect(throws: Settlement.Error.refundAmountNotAllowed) { try Settlement.divide(.release, held: 100, gross: 100, fee: 5, refundAmount: 10) }
    }

    @Test func releaseBlockersAreReportedInOrder() {
        #expect(ReleaseBlocker.first(disputeOpen: true, chargebackOpen: true, hasAccount: false, payoutsEnabled: false) == .disputeOpen)
        #expect(ReleaseBlocker.first(disputeOpen: false, chargebackOpen: true, hasAccount: true, payoutsEnabled: true) == .chargebackOpen)
        #expect(ReleaseBlocker.first(disputeOpen: false, chargebackOpen: false, hasAccount: false, payoutsEnabled: false) == .noConnectedAccount)
        #expect(ReleaseBlocker.first(disputeOpen: false, chargebackOpen: false, hasAccount: true, payoutsEnabled: false) == .payoutsDisabled)
        #expect(ReleaseBlocker.first(disputeOpen: false, chargebackOpen: false, hasAccount: true, payoutsEnabled: true) == nil)
    }

    @Test func everyPostingBalances() throws {
        let escrow = UUID()
        let journals: [Journal] = [
            .hold(payment: UUID(), escrows: [(id: escrow, gross: Int64(700)), (id: UUID(), gross: Int64(301))], currency: "usd"),
            .release(escrow: escrow, seller: "s", gross: 700, fee: 35, currency: "usd"),
            .release(escrow: escrow, seller: "s", gross: 700, fee: 700, currency: "usd"),
            .refund(escrow: escrow, fromHeld: 400, uncovered: 300, currency: "usd"),
            .rehold(escrow: escrow, seller: "s", amount: 700, reversed: 200, currency: "usd"),
            .chargebackAfterRelease(escrow: escrow, seller: "s", gross: 700, reversed: 0, currency: "usd"),
            .chargebackLost(escrow: escrow, amount: 700, currency: "usd"),
            .chargebackWonAfterRelease(escrow: escrow, seller: "s", gross: 700, reversed: 700, currency: "usd"),
            .payoutRequested(UUID(), seller: "s", amount: 50, currency: "usd"),
            .payoutSettled(UUID(), seller: "s", amount: 50, currency: "usd", paid: true),
            .payoutSettled(UUID(), seller: "s", amount: 50, currency: "usd", paid: false),
        ]
        for journal in journals { _ = try journal.validated() }
        let lost = Journal.chargebackAfterRelease(escrow: escrow, seller: "s", gross: 700, reversed: 250, currency: "usd")
        #expect(lost.entries.map(\.amount) == [250, 450, -700])
    }
}
