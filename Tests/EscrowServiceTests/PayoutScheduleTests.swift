import Foundation
import Testing

@testable import EscrowService

/// The schedule's rules on their own: when each interval runs next, and what a request may ask for.
@Suite struct PayoutScheduleTests {
    typealias MonthlyRun = (day: Int, after: String, expected: String)
    typealias InvalidRequest = (interval: String?, weekly: String?, monthly: Int?, minimum: Int64?, message: String)

    static func utc(_ text: String) throws -> Date {
        try Date.ISO8601FormatStyle().parse(text)
    }

    static func schedule(_ interval: PayoutSchedule.Interval, weekly: PayoutSchedule.Weekday? = nil, monthly: Int? = nil) -> PayoutSchedule {
        PayoutSchedule(interval: interval, weeklyAnchor: weekly, monthlyAnchor: monthly, minimumAmount: 0)
    }

    @Test func manualNeverRuns() throws {
        #expect(PayoutSchedule.manual.nextRun(after: try Self.utc("2025-01-15T10:30:00Z")) == nil)
    }

    @Test(arguments: [
        ("2025-01-15T10:30:00Z", "2025-01-16T00:00:00Z"),
        // Strictly after: a run at midnight is followed by the next midnight's.
        ("2025-01-15T00:00:00Z", "2025-01-16T00:00:00Z"),
        ("2025-12-31T23:59:59Z", "2026-01-01T00:00:00Z"),
        ("2024-02-28T08:00:00Z", "2024-02-29T00:00:00Z"),
    ])
    func dailyRunsAtTheNextMidnightUTC(_ after: String, _ expected: String) throws {
        #expect(Self.schedule(.daily).nextRun(after: try Self.utc(after)) == (try Self.utc(expected)))
    }

    // 2025-01-15 is a Wednesday.
    @Test(arguments: [
        (PayoutSchedule.Weekday.thursday, "2025-01-16T00:00:00Z"),
        (.friday, "2025-01-17T00:00:00Z"),
        (.saturday, "2025-01-18T00:00:00Z"),
        (.sunday, "2025-01-19T00:00:00Z"),
        (.monday, "2025-01-20T00:00:00Z"),
        (.tuesday, "2025-01-21T00:00:00Z"),
        // Today's run (00:00) has passed: next week's.
        (.wednesday, "2025-01-22T00:00:00Z"),
    ])
    func weeklyRunsOnTheNextAnchorDay(_ day: PayoutSchedule.Weekday, _ expected: String) throws {
        #expect(Self.schedule(.weekly, weekly: day).nextRun(after: try Self.utc("2025-01-15T10:30:00Z")) == (try Self.utc(expected)))
    }

    @Test func weeklyFromTheAnchorDaysMidnightWaitsAWeek() throws {
        let saturday = Self.schedule(.weekly, weekly: .saturday)
        #expect(saturday.nextRun(after: try Self.utc("2025-01-18T00:00:00Z")) == (try Self.utc("2025-01-25T00:00:00Z")))
        #expect(saturday.nextRun(after: try Self.utc("2025-01-17T23:59:59Z")) == (try Self.utc("2025-01-18T00:00:00Z")))
    }

    @Test(arguments: [
        (15, "2025-01-20T09:00:00Z", "2025-02-15T00:00:00Z"),
        (15, "2025-01-10T09:00:00Z", "2025-01-15T00:00:00Z"),
        // 29-31 fall on the last day of shorter months.
        (31, "2025-02-10T09:00:00Z", "2025-02-28T00:00:00Z"),
        (31, "2024-02-10T09:00:00Z", "2024-02-29T00:00:00Z"),
        (29, "2025-02-01T00:00:00Z", "2025-02-28T00:00:00Z"),
        (31, "2025-04-05T09:00:00Z", "2025-04-30T00:00:00Z"),
        (31, "2025-02-28T12:00:00Z", "2025-03-31T00:00:00Z"),
        (31, "2025-01-31T00:00:00Z", "2025-02-28T00:00:00Z"),
        (30, "2025-01-30T00:00:01Z", "2025-02-28T00:00:00Z"),
        (1, "2025-12-05T09:00:00Z", "2026-01-01T00:00:00Z"),
        (1, "2025-12-31T23:59:59Z", "2026-01-01T00:00:00Z"),
    ] as [MonthlyRun])
    func monthlyRunsOnTheAnchorOrTheMonthsLastDay(_ run: MonthlyRun) throws {
        #expect(Self.schedule(.monthly, monthly: run.day).nextRun(after: try Self.utc(run.after)) == (try Self.utc(run.expected)))
    }

    @Test func theNextRunIsAlwaysLaterAndAtMidnight() throws {
        let schedules = [Self.schedule(.daily), Self.schedule(.weekly, weekly: .sunday), Self.schedule(.monthly, monthly: 31)]
        var instant = try Self.utc("2023-12-25T13:07:00Z")
        for _ in 0..<500 {
            for schedule in schedules {
                let next = try #require(schedule.nextRun(after: instant))
                #expect(next > instant && next.timeIntervalSince(instant) <= 31 * 86_400)
                #expect(next.timeIntervalSince1970.truncatingRemainder(dividingBy: 86_400) == 0)
            }
            instant += 86_400 * 1.37
        }
    }

    @Test func extremeInstantsDoNotTrap() {
        for instant in [Date.distantPast, .distantFuture, Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: -1e12)] {
            for schedule in [Self.schedule(.daily), Self.schedule(.weekly, weekly: .friday), Self.schedule(.monthly, monthly: 31)] {
                if let next = schedule.nextRun(after: instant) { #expect(next > instant) }
            }
        }
    }

    @Test func aValidRequestBecomesItsSchedule() throws {
        #expect(try PayoutSchedule.validated(interval: "weekly", weeklyAnchor: "friday", monthlyAnchor: nil, minimumAmount: 500)
            == PayoutSchedule(interval: .weekly, weeklyAnchor: .friday, monthlyAnchor: nil, minimumAmount: 500))
        #expect(try PayoutSchedule.validated(interval: "monthly", weeklyAnchor: nil, monthlyAnchor: 31, minimumAmount: nil)
            == PayoutSchedule(interval: .monthly, weeklyAnchor: nil, monthlyAnchor: 31, minimumAmount: 0))
        #expect(try PayoutSchedule.validated(interval: "manual", weeklyAnchor: nil, monthlyAnchor: nil, minimumAmount: 99_999_999).minimumAmount
            == 99_999_999)
    }

    @Test(arguments: [
        (nil, nil, nil, nil, "interval is required"),
        ("hourly", nil, nil, nil, "interval must be manual, daily, weekly or monthly"),
        ("Daily", nil, nil, nil, "interval must be"),
        ("weekly", nil, nil, nil, "weeklyAnchor is required"),
        ("weekly", "Friday", nil, nil, "weeklyAnchor must be a day of the week"),
        ("daily", "friday", nil, nil, "weeklyAnchor applies only to a weekly schedule"),
        ("weekly", "friday", 5, nil, "monthlyAnchor applies only to a monthly schedule"),
        ("monthly", nil, nil, nil, "monthlyAnchor is required"),
        ("monthly", nil, 0, nil, "monthlyAnchor must be a day of the month from 1 to 31"),
        ("monthly", nil, 32, nil, "monthlyAnchor must be"),
        ("monthly", nil, Int.min, nil, "monthlyAnchor must be"),
        ("daily", nil, nil, -1, "minimumAmount must be"),
        ("daily", nil, nil, 100_000_000, "minimumAmount must be"),
        ("daily", nil, nil, Int64.max, "minimumAmount must be"),
    ] as [InvalidRequest])
    func anInvalidRequestSaysWhatToChange(_ request: InvalidRequest) {
        let error = #expect(throws: PayoutScheduleError.self) {
            try PayoutSchedule.validated(
                interval: request.interval, weeklyAnchor: request.weekly, monthlyAnchor: request.monthly, minimumAmount: request.minimum)
        }
        #expect(error?.message.contains(request.message) == true, "\(String(describing: error))")
    }
}
