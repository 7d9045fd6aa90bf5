import EventContracts

/// Formats minor units for people: the currency's symbol or code, its number of decimals
/// (none for zero-decimal currencies such as jpy), thousands separated by commas.
/// Deterministic on purpose (no locale): the same amount reads the same in every email and PDF.
enum MoneyFormat {
    /// Currencies whose minor unit is a thousandth (Stripe's three-decimal list).
    static let threeDecimalCurrencies: Set<String> = ["bhd", "jod", "kwd", "omr", "tnd"]

    static let symbols: [String: String] = [
        "usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "inr": "₹", "krw": "₩", "cny": "CN¥",
        "aud": "A$", "cad": "CA$", "nzd": "NZ$", "hkd": "HK$", "sgd": "S$", "mxn": "MX$", "brl": "R$",
    ]

    /// Digits after the decimal point for a lowercase ISO currency code.
    static func decimals(of currency: String) -> Int {
        let code = currency.lowercased()
        if Money.zeroDecimalCurrencies.contains(code) { return 0 }
        if threeDecimalCurrencies.contains(code) { return 3 }
        return 2
    }

    /// Symbols a PDF's standard fonts (WinAnsi) can print; others fall back to the code there.
    static func printable(_ symbol: String) -> Bool {
        symbol.unicodeScalars.allSatisfy { $0.isASCII || "€£¥".unicodeScalars.contains($0) }
    }

    /// `forPDF`: only symbols the PDF's fonts can print (₹ and ₩ become INR and KRW).
    static func format(_ amount: Int64, _ currency: String, forPDF: Bool = false) -> String {
        let code = currency.lowercased()
        let decimals = decimals(of: code)
        // Magnitude as UInt64 so Int64.min cannot overflow.
        let magnitude = amount.magnitude
        var divisor: UInt64 = 1
        for _ in 0..<decimals { divisor *= 10 }
        let whole = grouped(magnitude / divisor)
        var number = whole
        if decimals > 0 {
            let fraction = String(magnitude % divisor)
            number += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        let sign = amount < 0 ? "-" : ""
        if let symbol = symbols[code], !forPDF || printable(symbol) { return sign + symbol + number }
        return sign + code.uppercased() + " " + number
    }

    private static func grouped(_ value: UInt64) -> String {
        let digits = Array(String(value))
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return result
    }
}
