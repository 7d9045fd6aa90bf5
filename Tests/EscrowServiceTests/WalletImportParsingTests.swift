import Foundation
import Testing

@testable import EscrowService

/// Reading an import file: every row is checked and every problem reported by line.
@Suite struct WalletImportParsingTests {
    @Test func aGoodCSVGivesItsRowsAndTotals() {
        let parsed = WalletImport.csv("external_id,buyer_id,currency,amount\nold-1,buyer-a,usd,1500\nold-2, buyer-b ,eur,99\r\nold-3,buyer-a,usd,500\n\n")
        #expect(parsed.problems.isEmpty)
        #expect(parsed.rows.map(\.externalId) == ["old-1", "old-2", "old-3"])
        #expect(parsed.rows[1].buyerId == "buyer-b")
        #expect(parsed.totals == ["usd": 2000, "eur": 99])
    }

    @Test func everyBadRowIsReportedWithItsLine() {
        let parsed = WalletImport.csv(
            """
            external_id,buyer_id,currency,amount
            ok-1,buyer-a,usd,100
            short,buyer-a,usd
            zero,buyer-a,usd,0
            neg,buyer-a,usd,-5
            frac,buyer-a,usd,1.5
            huge,buyer-a,usd,99999999999999999999
            cur,buyer-a,US,100
            colon,buyer:a,usd,100
            ok-1,buyer-b,usd,100
            ,buyer-a,usd,100
            """)
        #expect(parsed.rows.map(\.externalId) == ["ok-1"])
        #expect(parsed.problems.map(\.line) == [3, 4, 5, 6, 7, 8, 9, 10, 11])
        #expect(parsed.problems.first { $0.line == 10 }?.message == "external id repeats line 2")
        #expect(parsed.problems.first { $0.line == 7 }?.message.contains("whole number") == true)
    }

    @Test func controlCharactersInIdsAreRefused() {
        let parsed = WalletImport.csv("external_id,buyer_id,currency,amount\nnul\u{0}id,buyer-a,usd,1\nok,buy\u{7}er,usd,1")
        #expect(parsed.rows.isEmpty && parsed.problems.map(\.line) == [2, 3])
    }

    @Test func aWrongHeaderOrNothingAtAllIsAProblem() {
        #expect(WalletImport.csv("id,buyer,currency,amount\nx,y,usd,1").malformed.map(\.message).first?.contains("header") == true)
        #expect(WalletImport.csv("").problems.map(\.message) == ["no rows"])
        #expect(WalletImport.csv("external_id,buyer_id,currency,amount\n").problems.map(\.message) == ["no rows"])
    }

    @Test func tooManyRowsAreRefusedWithoutReadingThemAll() {
        let rows = (0...WalletImport.maximumRows + 5).map { "r\($0),buyer,usd,1" }.joined(separator: "\n")
        let parsed = WalletImport.csv("external_id,buyer_id,currency,amount\n" + rows)
        #expect(parsed.problems.contains { $0.message.contains("at most") })
    }

    @Test func jsonRowsAreCheckedTheSameWay() {
        let parsed = WalletImport.json(Data(#"""
            {"rows": [
              {"externalId": "j-1", "buyerId": "buyer-a", "currency": "usd", "amount": 250},
              {"externalId": "j-2", "buyerId": "buyer-a", "currency": "usd", "amount": 2.5},
              {"externalId": "j-3", "buyerId": "buyer-a", "currency": "usd", "amount": "250"},
              {"externalId": "j-4", "buyerId": 7, "currency": "usd", "amount": 250},
              {"externalId": "j-5", "buyerId": "buyer-a", "currency": "usd", "amount": true},
              {"externalId": "j-6", "buyerId": "buyer-a", "currency": "usd", "amount": 1e300}
            ]}
            """#.utf8))
        // A row of the wrong types makes the body unreadable (refused even in a dry run).
        #expect(parsed.rows.isEmpty)
        #expect(parsed.malformed.map(\.line) == [2])
        let good = WalletImport.json(Data((#"{"rows": [{"externalId": "j-1", "buyerId": "buyer-a", "currency": "usd", "amount": 250},"#
            + #"{"externalId": "j-2", "buyerId": "buyer-a", "currency": "USD", "amount": -3}]}"#).utf8))
        #expect(good.malformed.isEmpty && good.rows.map(\.externalId) == ["j-1"] && good.problems.map(\.line) == [2])
        #expect(WalletImport.json(Data("[1,2]".utf8)).malformed.count == 1)
        #expect(WalletImport.json(Data("not json".utf8)).malformed.count == 1)
        #expect(WalletImport.json(Data("{}".utf8)).malformed.count == 1)
    }
}
