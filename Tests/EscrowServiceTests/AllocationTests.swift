import EventContracts
import Foundation
import Testing

@testable import EscrowService

/// A small deterministic generator, so property runs are repeatable.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct AllocationTests {
    @Test func examplesSplitToTheCent() {
        #expect(Allocation.largestRemainder(100, weights: [1, 1, 1]) == [34, 33, 33])
        #expect(Allocation.largestRemainder(1000, weights: [3000, 1999]) == [600, 400])
        #expect(Allocation.largestRemainder(7, weights: [0, 5, 0]) == [0, 7, 0])
        #expect(Allocation.largestRemainder(0, weights: [1, 2]) == [0, 0])
        #expect(Allocation.largestRemainder(Int64.max / 2, weights: [Int64.max / 4, Int64.max / 4]).reduce(0, +) == Int64.max / 2)
    }

    @Test func partsAlwaysAddUpAndStayWithinOneUnitOfTheExactShare() {
        var random = SplitMix64(state: 20_261_121)
        for _ in 0..<2_000 {
            let total = Int64.random(in: 0...10_000_000, using: &random)
            let weights = (0..<Int.random(in: 1...8, using: &random)).map { _ in Int64.random(in: 0...1_000_000, using: &random) }
            guard weights.reduce(0, +) > 0 else { continue }
            let parts = Allocation.largestRemainder(total, weights: weights)
            #expect(parts.reduce(0, +) == total)
            #expect(parts.allSatisfy { $0 >= 0 })
            let sum = Double(weights.reduce(0, +))
            for (part, weight) in zip(parts, weights) {
                let exact = Double(total) * Double(weight) / sum
                #expect(abs(Double(part) - exact) < 1.0 + 1e-9)
            }
        }
    }
}

@Suite struct FeePolicyTests {
    @Test func basisPointsRoundHalfUpPlusFixedAndNeverMoreThanTheGross() {
        let policy = FeePolicy(basisPoints: 500, fixedAmount: 30)
        #expect(policy.fee(on: 10_000) == 530)
        #expect(policy.net(of: 10_000) == 9_470)
        #expect(FeePolicy(basisPoints: 250, fixedAmount: 0).fee(on: 10) == 0)  // 0.25 rounds down
        #expect(FeePolicy(basisPoints: 500, fixedAmount: 0).fee(on: 10) == 1)   // 0.5 rounds up
        #expect(policy.fee(on: 20) == 20)
        #expect(policy.fee(on: 20) + policy.net(of: 20) == 20)
    }
}

@Suite struct JournalTests {
    @Test func aJournalMustBalancePerCurrency() throws {
        var journal = Journal(memo: "hold")
        journal.debit(.gatewayClearing, 5000, "usd")
        journal.credit(.escrowHeld(UUID()), 3000, "usd")
        #expect(throws: Journal.Error.unbalanced(currency: "usd", by: 2000)) { try journal.validated() }
        journal.credit(.escrowHeld(UUID()), 2000, "usd")
        _ = try journal.validated()
        journal.debit(.gatewayClearing, 100, "eur")
        #expect(throws: Journal.Error.unbalanced(currency: "eur", by: 100)) { try journal.validated() }
        #expect(throws: Journal.Error.empty) { try Journal(memo: "nothing").validated() }
    }
}
