import Foundation

/// When a seller's available balance is paid out on its own, after Stripe's
/// `settings.payouts.schedule`: `manual` (only `POST /api/v1/payouts`), `daily`, `weekly` on a
/// weekday or `monthly` on a day (29–31 fall on the last day of shorter months). Runs are at
/// 00:00 UTC; each currency whose available balance reaches `minimumAmount` is paid in full.
struct PayoutSchedule: Sendable, Equatable {
    enum Interval: String, Sendable, CaseIterable {
        case manual, daily, weekly, monthly
    }

    /// In `Calendar`'s order (its weekday 1 is Sunday).
    enum Weekday: String, Sendable, CaseIterable {
        case sunday, monday, tuesday, wednesday, thursday, friday, saturday

        var calendarWeekday: Int { (Self.allCases.firstIndex(of: self) ?? 0) + 1 }
    }

    var interval: Interval
    var weeklyAnchor: Weekday?
    var monthlyAnchor: Int?
    /// In the minor units of each currency paid (a currency below it waits for a later run).
    var minimumAmount: Int64

    /// What a seller has until they choose otherwise: payouts only on request.
    static let manual = PayoutSchedule(interval: .manual, weeklyAnchor: nil, monthlyAnchor: nil, minimumAmount: 0)
    /// Stripe's largest amount (eight digits of minor units).
    static let minimumAmountLimit: Int64 = 99_999_999
    static let timeZone = "UTC"

    /// A schedule from a request's fields, or the first thing wrong with them.
    static func validated(
        interval: String?, weeklyAnchor: String?, monthlyAnchor: Int?, minimumAmount: Int64?
    ) throws(PayoutScheduleError) -> PayoutSchedule {
        let intervals = "manual, daily, weekly or monthly"
        guard let interval else { throw PayoutScheduleError("interval is required: \(intervals).") }
        guard let parsed = Interval(rawValue: interval) else { throw PayoutScheduleError("interval must be \(intervals).") }
        var weekday: Weekday?
        if let weeklyAnchor {
            guard parsed == .weekly else { throw PayoutScheduleError("weeklyAnchor applies only to a weekly schedule.") }
            guard let day = Weekday(rawValue: weeklyAnchor) else {
                throw PayoutScheduleError("weeklyAnchor must be a day of the week in lowercase, such as friday.")
            }
            weekday = day
        } else if parsed == .weekly {
            throw PayoutScheduleError("weeklyAnchor is required for a weekly schedule (monday to sunday).")
        }
        if let monthlyAnchor {
            guard parsed == .monthly else { throw PayoutScheduleError("monthlyAnchor applies only to a monthly schedule.") }
            guard (1...31).contains(monthlyAnchor) else {
                throw PayoutScheduleError("monthlyAnchor must be a day of the month from 1 to 31 (29-31 mean the last day of shorter months).")
            }
        } else if parsed == .monthly {
            throw PayoutScheduleError("monthlyAnchor is required for a monthly schedule (1 to 31).")
        }
        let minimum = minimumAmount ?? 0
        guard (0...minimumAmountLimit).contains(minimum) else {
            throw PayoutScheduleError("minimumAmount must be a whole number of minor units from 0 to \(minimumAmountLimit).")
        }
        return PayoutSchedule(interval: parsed, weeklyAnchor: weekday, monthlyAnchor: monthlyAnchor, minimumAmount: minimum)
    }

    /// The first run strictly after `instant` (nil for `manual`, or past the calendar's range).
    func nextRun(after instant: Date) -> Date? {
        let calendar = Self.calendar
        let today = calendar.startOfDay(for: instant)
        switch interval {
        case .manual:
            return nil
        case .daily:
            return calendar.date(byAdding: .day, value: 1, to: today)
        case .weekly:
            guard let weekday = weeklyAnchor?.calendarWeekday else { return nil }
            let days = (weekday - calendar.component(.weekday, from: today) + 6) % 7 + 1
            return calendar.date(byAdding: .day, value: days, to: today)
        case .monthly:
            guard let anchor = monthlyAnchor else { return nil }
            let month = calendar.dateComponents([.year, .month], from: today)
            for offset in 0...1 {
                guard let first = calendar.date(from: month).flatMap({ calendar.date(byAdding: .month, value: offset, to: $0) }),
                      let days = calendar.range(of: .day, in: .month, for: first)?.count,
                      let run = calendar.date(byAdding: .day, value: min(anchor, days) - 1, to: first)
                else { return nil }
                if run > instant { return run }
            }
            return nil
        }
    }

    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        return calendar
    }()
}

/// A schedule a seller asked for that cannot be: the message says what to change.
struct PayoutScheduleError: Error, Equatable {
    var message: String

    init(_ message: String) {
        self.message = message
    }
}
