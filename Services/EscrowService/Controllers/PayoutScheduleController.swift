import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import PostgresNIO

/// `GET` / `PUT /api/v1/sellers/me/payout-schedule` (seller): when the available balance is paid
/// out on its own (`PayoutScheduler` pays it), and the next run. Without a schedule: manual.
struct PayoutScheduleController: Sendable {
    let schedules: PayoutScheduleStore
    let postgres: PostgresClient
    /// The time a new schedule's first run is counted from.
    var clock: @Sendable () -> Date = { Date() }

    /// Fields may be omitted but not null (an explicit null reads like a value that is not there).
    struct Body: Decodable {
        var interval: String?
        var weeklyAnchor: String?
        var monthlyAnchor: Int?
        var minimumAmount: Int64?

        enum CodingKeys: String, CodingKey {
            case interval, weeklyAnchor, monthlyAnchor, minimumAmount
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            for key in [CodingKeys.interval, .weeklyAnchor, .monthlyAnchor, .minimumAmount] where container.contains(key) {
                if try container.decodeNil(forKey: key) {
                    throw DecodingError.valueNotFound(Any.self, .init(codingPath: [key], debugDescription: "null"))
                }
            }
            interval = try container.decodeIfPresent(String.self, forKey: .interval)
            weeklyAnchor = try container.decodeIfPresent(String.self, forKey: .weeklyAnchor)
            monthlyAnchor = try container.decodeIfPresent(Int.self, forKey: .monthlyAnchor)
            minimumAmount = try container.decodeIfPresent(Int64.self, forKey: .minimumAmount)
        }
    }

    struct View: Encodable, ResponseEncodable {
        var interval: String
        var weeklyAnchor: String?
        var monthlyAnchor: Int?
        var minimumAmount: Int64
        /// Runs are at 00:00 in this time zone.
        var timeZone = PayoutSchedule.timeZone
        var nextRunAt: Date?

        init(_ schedule: PayoutSchedule, nextRunAt: Date?) {
            interval = schedule.interval.rawValue
            weeklyAnchor = schedule.weeklyAnchor?.rawValue
            monthlyAnchor = schedule.monthlyAnchor
            minimumAmount = schedule.minimumAmount
            self.nextRunAt = nextRunAt
        }
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("sellers/me/payout-schedule") { _, context in
            let seller = try context.requireRole(.seller)
            let stored = try await postgres.withConnection { try await schedules.find(sellerId: seller.id, on: $0) }
            return View(stored?.schedule ?? .manual, nextRunAt: stored?.nextRunAt)
        }
        group.put("sellers/me/payout-schedule") { request, context in
            let seller = try context.requireRole(.seller)
            let raw = try await request.body.collect(upTo: 16 * 1024)
            let body = try EventCoding.decoder.decode(Body.self, from: Data(buffer: raw))
            let schedule: PayoutSchedule
            do {
                schedule = try PayoutSchedule.validated(
                    interval: body.interval, weeklyAnchor: body.weeklyAnchor, monthlyAnchor: body.monthlyAnchor,
                    minimumAmount: body.minimumAmount)
            } catch let error as PayoutScheduleError {
                throw Problem.validation(error.message)
            }
            let next = schedule.nextRun(after: clock())
            try await postgres.withConnection { try await schedules.save(schedule, sellerId: seller.id, nextRunAt: next, on: $0) }
            context.logger.info("payout schedule set", metadata: ["interval": "\(schedule.interval.rawValue)", "next_run_at": "\(next.map { "\($0)" } ?? "-")"])
            return View(schedule, nextRunAt: next)
        }
    }
}
