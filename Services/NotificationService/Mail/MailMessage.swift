import Foundation

/// A mail address with an optional display name.
struct MailAddress: Sendable, Equatable {
    var email: String
    var name: String?

    /// `"Name" <email>` (the name RFC 2047-encoded when it is not plain ASCII) or `<email>`.
    var header: String {
        guard let name, !name.isEmpty else { return "<\(email)>" }
        return "\(MailMessage.encodedWord(name, quoted: true)) <\(email)>"
    }

    /// Rejects what could inject SMTP commands or headers: CR, LF, angle brackets, no `@`.
    /// (One pass over the bytes: every event naming a user checks an address.)
    var isValid: Bool {
        var ats = 0
        for byte in email.utf8 {
            switch byte {
            case UInt8(ascii: "<"), UInt8(ascii: ">"), 0x0D, 0x0A, 0x20, 0x09, UInt8(ascii: ","), UInt8(ascii: ";"): return false
            case UInt8(ascii: "@"): ats += 1
            default: continue
            }
        }
        return ats == 1 && !email.hasPrefix("@") && !email.hasSuffix("@")
    }
}

/// One email with a plain-text and an HTML alternative, rendered as an RFC 5322 message with a
/// `multipart/alternative` MIME body (quoted-printable parts, UTF-8).
struct MailMessage: Sendable {
    var from: MailAddress
    var to: MailAddress
    var subject: String
    var text: String
    var html: String
    /// Without angle brackets, e.g. `3f2a…@escrowmarket.test`; derived from the idempotency key.
    var messageId: String
    var date: Date
    var extraHeaders: [(String, String)] = []

    /// The boundary is derived from the Message-ID, so the same message always renders the same bytes.
    var boundary: String { "=_em_" + messageId.filter { $0.isLetter || $0.isNumber }.prefix(24) }

    /// The message as sent after DATA (CRLF line ends, before dot-stuffing).
    func rendered() -> String {
        var lines = [
            "From: \(from.header)",
            "To: \(to.header)",
            "Subject: \(Self.encodedWord(Self.singleLine(subject), quoted: false))",
            "Date: \(Self.rfc5322(date))",
            "Message-ID: <\(messageId)>",
            "MIME-Version: 1.0",
        ]
        lines += extraHeaders.map { "\($0.0): \(Self.singleLine($0.1))" }
        lines += [
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
            "",
            "This is a multi-part message in MIME format.",
            "--\(boundary)",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            QuotedPrintable.encode(text),
            "--\(boundary)",
            "Content-Type: text/html; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            QuotedPrintable.encode(html),
            "--\(boundary)--",
            "",
        ]
        return lines.joined(separator: "\r\n")
    }

    /// A header value never spans lines: CR and LF would start a header of the sender's choosing.
    /// Each becomes a space, byte by byte (a CRLF is two spaces); a value without either, nearly
    /// every one, is returned as it is (Foundation's `replacingOccurrences` bridged every value).
    static func singleLine(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) else { return value }
        return String(decoding: value.utf8.map { $0 == 0x0D || $0 == 0x0A ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }

    /// RFC 2047 `=?utf-8?B?…?=` for non-ASCII text (or a quoted display name), plain otherwise.
    static func encodedWord(_ value: String, quoted: Bool) -> String {
        if value.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F }) {
            if !quoted { return value }
            return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        return "=?utf-8?B?\(Data(singleLine(value).utf8).base64EncodedString())?="
    }

    /// `Thu, 01 Jan 1970 00:00:00 +0000`, written by hand: a `DateFormatter` made per message
    /// cost more than the rest of the headers.
    static func rfc5322(_ date: Date) -> String {
        let time = UTCTime(date)
        return "\(UTCTime.weekdays[time.weekday]), \(UTCTime.twoDigits(time.day)) \(UTCTime.months[time.month - 1]) \(UTCTime.fourDigits(time.year)) "
            + "\(UTCTime.twoDigits(time.hour)):\(UTCTime.twoDigits(time.minute)):\(UTCTime.twoDigits(time.second)) +0000"
    }
}

/// A moment's calendar fields in UTC (proleptic Gregorian), for dates in mail; times outside
/// years 1-9999 are held at those ends.
struct UTCTime: Equatable {
    var year: Int
    var month: Int
    var day: Int
    var hour: Int
    var minute: Int
    var second: Int
    /// 0 is Sunday.
    var weekday: Int

    init(_ date: Date) {
        let interval = date.timeIntervalSince1970
        // 0001-01-01 to 9999-12-31 23:59:59; NaN is the epoch.
        let seconds = interval.isNaN ? 0 : Int64(min(max(interval.rounded(.down), -62_135_596_800), 253_402_300_799))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let rest = Int(seconds - days * 86_400)
        (hour, minute, second) = (rest / 3600, rest % 3600 / 60, rest % 60)
        weekday = Int(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday (4)
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        day = Int(dayOfYear - (153 * shiftedMonth + 2) / 5 + 1)
        month = Int(shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9)
        year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
    }

    static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func twoDigits(_ value: Int) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }

    static func fourDigits(_ value: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
