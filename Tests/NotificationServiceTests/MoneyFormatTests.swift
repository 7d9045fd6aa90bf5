import Testing

@testable import NotificationService

@Suite struct MoneyFormatTests {
    @Test func twoDecimalCurrenciesShowCentsAndThousands() {
        #expect(MoneyFormat.format(123_456, "usd") == "$1,234.56")
        #expect(MoneyFormat.format(5, "eur") == "€0.05")
        #expect(MoneyFormat.format(100_000_000, "gbp") == "£1,000,000.00")
        #expect(MoneyFormat.format(-250, "usd") == "-$2.50")
    }

    @Test func zeroDecimalCurrenciesAreWholeUnits() {
        #expect(MoneyFormat.format(1500, "jpy") == "¥1,500")
        #expect(MoneyFormat.format(990, "krw") == "₩990")
        #expect(MoneyFormat.format(12345, "vnd") == "VND 12,345")
    }

    @Test func threeDecimalAndUnknownCurrenciesUseTheirCode() {
        #expect(MoneyFormat.format(12_345, "kwd") == "KWD 12.345")
        #expect(MoneyFormat.format(1999, "chf") == "CHF 19.99")
        #expect(MoneyFormat.format(Int64.min, "usd").hasPrefix("-$92,233,720,368,547,758."))
    }
}
