import EventContracts
import Foundation
import GatewayCommands
import Metrics
import PostgresNIO
import Testing
import TestSupport

@testable import EscrowService

/// Payout schedules end to end: the API, and the timer's passes run at a time the test picks.
@Suite struct ScheduledPayoutTests {
    static let path = "/api/v1/sellers/me/payout-schedule"

    @Test func aDueSchedulePaysTheAvailableBalanceOncePerRunEvenWhenPassesRace() async throws {
        // The service's own timer passes hourly: this test runs the passes itself, in the future.
        try await ServiceHarness.run(
            .escrowService, topics: EscrowDriver.topics, environment: ["ESCROW_PAYOUT_SCHEDULE_INTERVAL_SECONDS": "3600"]
        ) { service in
            let driver = EscrowDriver(service: service)
            try await driver.onboard("seller-a")
            try await driver.onboard("seller-b")
            try await driver.onboard("seller-c", payoutsEnabled: false)
            let (a, b) = (UUID(), UUID())
            try await driver.pay([(a, "seller-a", 5000), (b, "seller-b", 1000)])
            try await driver.order("order.delivered", a, seller: "seller-a")
            try await driver.order("order.delivered", b, seller: "seller-b")
            #expect(try await driver.waitFor(a, status: "released"))
            #expect(try await driver.waitFor(b, status: "released"))
            #expect(try await driver.balance("seller_available:seller-a") == 4750)
            #expect(try await driver.balance("seller_available:seller-b") == 950)

            let unset = try await service.call(.get, Self.path, as: "seller-a", roles: ["seller"]).json()
            #expect(unset["interval"] as? String == "manual" && unset["minimumAmount"] as? Int == 0 && unset["timeZone"] as? String == "UTC")
            #expect(unset["nextRunAt"] == nil)

            // a: daily, paid above 1,000; b: daily, 950 is below its 2,000; c: payouts not enabled.
            for (seller, minimum) in [("seller-a", 1000), ("seller-b", 2000), ("seller-c", 0)] as [(String, Int64)] {
                let reply = try await service.call(
                    .put, Self.path, as: seller, roles: ["seller"], body: ScheduleBody(interval: "daily", minimumAmount: minimum))
                #expect(reply.status == .ok, "\(reply.text)")
            }
            let before = Date()
            let firstRun = try Self.nextRun(try await service.call(.get, Self.path, as: "seller-a", roles: ["seller"]).json())
            #expect(firstRun > before.addingTimeInterval(-5) && firstRun <= before.addingTimeInterval(86_400))
            #expect(firstRun.timeIntervalSince1970.truncatingRemainder(dividingBy: 86_400) == 0)

            // Two instances' passes at the same moment, just after the run: one pays, the other
            // finds nothing left to claim.
            let (one, two) = (try driver.scheduler(), try driver.scheduler())
            let at = firstRun.addingTimeInterval(1)
            async let first = one.runDue(at: at)
            async let second = two.runDue(at: at)
            let (byOne, byTwo) = try await (first, second)
            #expect(Set(byOne.keys).isDisjoint(with: byTwo.keys), "\(byOne) \(byTwo)")
            #expect(byOne.merging(byTwo) { $1 } == ["seller-a": .paid, "seller-b": .belowMinimum, "seller-c": .payoutsDisabled])
            #expect(try await Self.payouts(of: "seller-a", service) == [4750])
            #expect(try await Self.payouts(of: "seller-b", service) == [])
            #expect(try await service.database.count("SELECT count(*) FROM scheduled_payouts") == 1)
            #expect(try await driver.balance("seller_available:seller-a") == 0)
            #expect(try await driver.balance("seller_in_transit:seller-a") == 4750)
            #expect(try await driver.balance("seller_available:seller-b") == 950)
            // The command worker sends it to the gateway, as it does a requested payout.
            #expect(try await service.eventually { try await Self.gatewayPayouts(driver) == 4750 })

            // The same moment again: nothing is due any more.
            #expect(try await one.runDue(at: at).isEmpty)

            // A rerun of the same run (its schedule as a crash could have left it) pays nothing,
            // even with money available again: that run has paid.
            let c = UUID()
            try await driver.pay([(c, "seller-a", 2000)])
            try await driver.order("order.delivered", c, seller: "seller-a")
            #expect(try await driver.waitFor(c, status: "released"))
            #expect(try await driver.balance("seller_available:seller-a") == 1900)
            try await service.database.client.query(
                "UPDATE payout_schedules SET next_run_at = \(firstRun) WHERE seller_id = 'seller-a'", logger: TestEnvironment.logger)
            #expect(try await one.runDue(at: at) == ["seller-a": .alreadyPaid])
            #expect(try await Self.payouts(of: "seller-a", service) == [4750])

            // The next day's run pays what became available since; GET shows the run after it.
            let secondRun = firstRun.addingTimeInterval(86_400)
            #expect(try await Self.stored(nextRunOf: "seller-a", service) == secondRun)
            let byNextDay = try await two.runDue(at: secondRun.addingTimeInterval(30))
            #expect(byNextDay == ["seller-a": .paid, "seller-b": .belowMinimum, "seller-c": .payoutsDisabled])
            #expect(try await Self.payouts(of: "seller-a", service) == [4750, 1900])
            let shown = try await service.call(.get, Self.path, as: "seller-a", roles: ["seller"]).json()
            #expect(try Self.nextRun(shown) == secondRun.addingTimeInterval(86_400))
            #expect(shown["interval"] as? String == "daily" && shown["minimumAmount"] as? Int == 1000)
            #expect(try await service.eventually { try await Self.gatewayPayouts(driver) == 6650 })
            #expect(try await service.outboxCount("payout.requested") == 2)
            try await driver.expectBalanced()
        }
    }

    @Test func aScheduleIsValidatedAndShowsItsNextRun() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            func put(_ body: ScheduleBody, as role: String = "seller") async throws -> HTTPReply {
                try await service.call(.put, Self.path, as: "seller-v", roles: [role], body: body)
            }
            let before = Date()
            let weekly = try await put(ScheduleBody(interval: "weekly", weeklyAnchor: "friday", minimumAmount: 500))
            #expect(weekly.status == .ok, "\(weekly.text)")
            let friday = try Self.nextRun(try weekly.json())
            let expected = PayoutSchedule(interval: .weekly, weeklyAnchor: .friday, monthlyAnchor: nil, minimumAmount: 500)
            #expect([expected.nextRun(after: before), expected.nextRun(after: Date())].contains(friday))
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = .gmt
            #expect(calendar.component(.weekday, from: friday) == 6 && friday.timeIntervalSince(before) <= 7 * 86_400)

            let refused: [(ScheduleBody, String)] = [
                (ScheduleBody(), "interval is required"),
                (ScheduleBody(interval: "hourly"), "interval must be"),
                (ScheduleBody(interval: "weekly"), "weeklyAnchor is required"),
                (ScheduleBody(interval: "weekly", weeklyAnchor: "someday"), "weeklyAnchor must be a day of the week"),
                (ScheduleBody(interval: "daily", weeklyAnchor: "friday"), "weeklyAnchor applies only"),
                (ScheduleBody(interval: "monthly"), "monthlyAnchor is required"),
                (ScheduleBody(interval: "monthly", monthlyAnchor: 32), "monthlyAnchor must be a day of the month"),
                (ScheduleBody(interval: "monthly", monthlyAnchor: Int.min), "monthlyAnchor must be"),
                (ScheduleBody(interval: "daily", minimumAmount: -1), "minimumAmount must be"),
                (ScheduleBody(interval: "daily", minimumAmount: Int64.max), "minimumAmount must be"),
            ]
            for (body, message) in refused {
                let reply = try await put(body)
                #expect(reply.status == .unprocessableContent, "\(body): \(reply.text)")
                #expect(reply.headers[.contentType] == "application/problem+json")
                #expect((try reply.json()["detail"] as? String)?.contains(message) == true, "\(reply.text)")
            }
            // Not numbers of the right kind, or a null: malformed, 400.
            let token = try await service.token("seller-v", ["seller"])
            for raw in [#"{"interval":"monthly","monthlyAnchor":1e30}"#, #"{"interval":"daily","minimumAmount":1.5}"#,
                        #"{"interval":"daily","weeklyAnchor":null}"#, #"[]"#] {
                let reply = try await service.post(
                    Self.path, bytes: Array(raw.utf8), headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                    method: .put)
                #expect(reply.status == .badRequest, "\(raw): \(reply.text)")
            }
            #expect(try await put(ScheduleBody(interval: "daily"), as: "buyer").status == .forbidden)
            // Nothing refused changed the schedule.
            let kept = try await service.call(.get, Self.path, as: "seller-v", roles: ["seller"]).json()
            #expect(kept["interval"] as? String == "weekly" && kept["weeklyAnchor"] as? String == "friday" && kept["minimumAmount"] as? Int == 500)
            #expect(try Self.nextRun(kept) == friday)

            let monthly = try await put(ScheduleBody(interval: "monthly", monthlyAnchor: 31))
            let lastDay = try Self.nextRun(try monthly.json())
            let month = PayoutSchedule(interval: .monthly, weeklyAnchor: nil, monthlyAnchor: 31, minimumAmount: 0)
            #expect([month.nextRun(after: before), month.nextRun(after: Date())].contains(lastDay))
            // The 31st, or the last day of a shorter month: the next day is a 1st.
            #expect(calendar.component(.day, from: lastDay.addingTimeInterval(86_400)) == 1)

            let manual = try await put(ScheduleBody(interval: "manual"))
            #expect(manual.status == .ok)
            #expect(try manual.json()["interval"] as? String == "manual" && manual.json()["nextRunAt"] == nil)
            #expect(try await service.database.count("SELECT count(*) FROM payout_schedules WHERE next_run_at IS NULL AND cadence = 'manual'") == 1)
        }
    }

    static func nextRun(_ json: [String: Any]) throws -> Date {
        try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(try #require(json["nextRunAt"] as? String))
    }

    /// The seller's payouts' amounts, oldest first.
    static func payouts(of seller: String, _ service: ServiceHarness) async throws -> [Int64] {
        try await service.database.client.query(
            "SELECT amount FROM payouts WHERE seller_id = \(seller) ORDER BY created_at", logger: TestEnvironment.logger
        ).decode(Int64.self).all()
    }

    static func stored(nextRunOf seller: String, _ service: ServiceHarness) async throws -> Date? {
        try await service.database.client.query(
            "SELECT next_run_at FROM payout_schedules WHERE seller_id = \(seller)", logger: TestEnvironment.logger
        ).decode(Date?.self).all().first ?? nil
    }

    /// What the gateway has been asked to pay out (pending or paid).
    static func gatewayPayouts(_ driver: EscrowDriver) async throws -> Int64 {
        try await driver.gateway("payouts", "byStatus", "pending", "amount") + driver.gateway("payouts", "byStatus", "paid", "amount")
    }
}

struct ScheduleBody: Encodable, CustomStringConvertible {
    var interval: String?
    var weeklyAnchor: String?
    var monthlyAnchor: Int?
    var minimumAmount: Int64?

    var description: String { "\(interval ?? "-") \(weeklyAnchor ?? "-") \(monthlyAnchor.map(String.init) ?? "-") \(minimumAmount.map(String.init) ?? "-")" }
}

extension EscrowDriver {
    /// A payout scheduler like the service's, on the test's database, whose passes the test runs
    /// at a time of its choosing (as another instance of the service would).
    func scheduler() throws -> PayoutScheduler {
        let logger = TestEnvironment.logger
        let escrows = EscrowStore(
            logger: logger, topic: service.topicPrefix + Topic.escrow, gateway: StripeEscrowGateway(client: try stripe.client()),
            commands: GatewayCommandStore(logger: logger))
        return PayoutScheduler(
            payouts: PayoutStore(escrows: escrows), schedules: PayoutScheduleStore(logger: logger), postgres: service.database.client,
            interval: .seconds(3600), metrics: NOOPMetricsHandler.instance)
    }
}
