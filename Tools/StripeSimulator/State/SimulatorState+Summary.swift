import EventContracts

/// Counts and totals of every kind of object (`GET /_sim/state`), for tests to assert on.
extension SimulatorState {
    func summary() -> JSONValue {
        let stats = outbox.stats
        return [
            "paymentIntents": ["count": .integer(Int64(paymentIntents.count)), "byStatus": Self.tally(paymentIntents.values, \.status) { $0.amount }],
            "charges": [
                "count": .integer(Int64(charges.count)), "byStatus": Self.tally(charges.values, \.status) { $0.amount },
                "amountRefunded": .integer(charges.values.reduce(0) { $0 + $1.amountRefunded }),
            ],
            "refunds": ["count": .integer(Int64(refunds.count)), "byStatus": Self.tally(refunds.values, \.status) { $0.amount }],
            "customers": ["count": .integer(Int64(customers.count))],
            "paymentMethods": [
                "count": .integer(Int64(paymentMethods.count)),
                "attached": .integer(Int64(paymentMethods.values.count { $0.customer != nil })),
            ],
            "setupIntents": ["count": .integer(Int64(setupIntents.count)), "byStatus": Self.tally(setupIntents.values, \.status) { _ in 0 }.countsOnly],
            "disputes": ["count": .integer(Int64(disputes.count)), "byStatus": Self.tally(disputes.values, \.status) { $0.amount }],
            "accounts": [
                "count": .integer(Int64(accounts.count)), "onboarded": .integer(Int64(accounts.values.count { $0.onboarded })),
                "restricted": .integer(Int64(accounts.values.count { $0.restricted })),
            ],
            "transfers": [
                "count": .integer(Int64(transfers.count)), "amount": .integer(transfers.values.reduce(0) { $0 + $1.amount }),
                "amountReversed": .integer(transfers.values.reduce(0) { $0 + $1.amountReversed }),
                "byTransferGroup": .object(Dictionary(grouping: transfers.values) { $0.transferGroup ?? "" }.mapValues { group in
                    [
                        "count": .integer(Int64(group.count)), "amount": .integer(group.reduce(0) { $0 + $1.amount }),
                        "amountReversed": .integer(group.reduce(0) { $0 + $1.amountReversed }),
                    ]
                }),
            ],
            "reversals": ["count": .integer(Int64(reversals.count)), "amount": .integer(reversals.values.reduce(0) { $0 + $1.amount })],
            "payouts": ["count": .integer(Int64(payouts.count)), "byStatus": Self.tally(payouts.values, \.status) { $0.amount }],
            "events": ["count": .integer(Int64(events.count)), "byType": Self.tally(events, \.type) { _ in 0 }.countsOnly],
            "webhooks": [
                "pending": .integer(Int64(outbox.pending)), "delivered": .integer(Int64(stats.delivered)),
                "failedAttempts": .integer(Int64(stats.failedAttempts)), "abandoned": .integer(Int64(stats.abandoned)),
            ],
            "balances": [
                "platform": Self.amounts(platformBalance()),
                "accounts": .object(Dictionary(uniqueKeysWithValues: accounts.keys.map { ($0, Self.amounts(accountBalance($0))) })),
            ],
        ]
    }

    /// `{"succeeded": {"count": 2, "amount": 3000}, …}`.
    private static func tally<Item>(_ items: some Sequence<Item>, _ key: KeyPath<Item, String>, amount: (Item) -> Int64) -> JSONValue {
        var result: [String: (count: Int64, amount: Int64)] = [:]
        for item in items {
            result[item[keyPath: key], default: (0, 0)].count += 1
            result[item[keyPath: key], default: (0, 0)].amount += amount(item)
        }
        return .object(result.mapValues { ["count": .integer($0.count), "amount": .integer($0.amount)] })
    }

    private static func amounts(_ balance: [String: Int64]) -> JSONValue { .object(balance.mapValues(JSONValue.integer)) }
}

private extension JSONValue {
    /// `{"k": {"count": n, …}}` → `{"k": n}`.
    var countsOnly: JSONValue {
        guard case .object(let entries) = self else { return self }
        return .object(entries.mapValues { $0["count"] ?? 0 })
    }
}
