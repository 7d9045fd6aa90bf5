import EventContracts
import Foundation

/// Everything the simulated Stripe holds, in memory. Every change happens in one actor call
/// (no suspension inside), so each request sees and leaves a consistent state; the events it
/// causes are recorded and queued for delivery in the same call.
actor SimulatorState {
    let outbox: WebhookOutbox
    let timers: DueQueue<TimedAction>
    let faults: FaultInjector
    let payoutDelay: Duration
    /// The simulator's own address, for onboarding links.
    let baseURL: String

    var paymentIntents: [String: PaymentIntentRecord] = [:]
    var charges: [String: ChargeRecord] = [:]
    var refunds: [String: RefundRecord] = [:]
    var customers: [String: CustomerRecord] = [:]
    /// Saved card PaymentMethods (copies of test payment methods), by id and in creation order.
    var paymentMethods: [String: PaymentMethodRecord] = [:]
    var paymentMethodOrder: [String] = []
    var setupIntents: [String: SetupIntentRecord] = [:]
    var disputes: [String: DisputeRecord] = [:]
    var accounts: [String: AccountRecord] = [:]
    var accountLinks: [String: AccountLinkRecord] = [:]
    var transfers: [String: TransferRecord] = [:]
    /// Creation order, for lists (newest first, as Stripe lists).
    var transferOrder: [String] = []
    var reversals: [String: ReversalRecord] = [:]
    var reversalOrder: [String] = []
    var payouts: [String: PayoutRecord] = [:]
    var checkoutSessions: [String: CheckoutSessionRecord] = [:]
    var events: [EventRecord] = []
    /// Charges made with `pm_card_refundFail`: their refunds fail a moment after succeeding.
    var chargesWithFailingRefunds: Set<String> = []

    init(outbox: WebhookOutbox, timers: DueQueue<TimedAction>, faults: FaultInjector, payoutDelay: Duration, baseURL: String) {
        self.outbox = outbox
        self.timers = timers
        self.faults = faults
        self.payoutDelay = payoutDelay
        self.baseURL = baseURL
    }

    /// Records an event and queues it for the webhook endpoint.
    func emit(_ type: String, _ object: JSONValue, account: String? = nil) {
        let event = EventRecord(
            id: Identifiers.make("evt"), type: type, created: Identifiers.now(), account: account, object: object,
            origin: RequestOrigin.current, pendingWebhooks: outbox.endpoint.wants(type) ? 1 : 0)
        events.append(event)
        outbox.enqueue(event)
    }

    /// Forgets every object and event; pending timers and deliveries go too.
    func reset() {
        paymentIntents = [:]
        charges = [:]
        refunds = [:]
        customers = [:]
        paymentMethods = [:]
        paymentMethodOrder = []
        setupIntents = [:]
        disputes = [:]
        accounts = [:]
        accountLinks = [:]
        transfers = [:]
        transferOrder = []
        reversals = [:]
        reversalOrder = []
        payouts = [:]
        checkoutSessions = [:]
        events = []
        chargesWithFailingRefunds = []
        timers.removeAll()
        outbox.reset()
    }

    /// Applies a timed action when it comes due.
    func perform(_ action: TimedAction) throws {
        switch action {
        case .settlePayout(let id): settlePayout(id)
        case .failRefund(let id, let reason): _ = try failRefund(id, reason: reason)
        case .returnPayout(let id, let failureCode): _ = try failPayout(id, failureCode: failureCode)
        }
    }

    // MARK: Lookups that throw Stripe's `resource_missing`

    func intent(_ id: String) throws(StripeAPIError) -> PaymentIntentRecord {
        guard let intent = paymentIntents[id] else { throw .noSuch("payment_intent", id) }
        return intent
    }

    func charge(_ id: String, param: String? = nil) throws(StripeAPIError) -> ChargeRecord {
        guard let charge = charges[id] else { throw .noSuch("charge", id, param: param) }
        return charge
    }

    func customer(_ id: String, param: String? = nil) throws(StripeAPIError) -> CustomerRecord {
        guard let customer = customers[id] else { throw .noSuch("customer", id, param: param) }
        return customer
    }

    func account(_ id: String, param: String? = nil) throws(StripeAPIError) -> AccountRecord {
        guard let account = accounts[id] else { throw .noSuch("account", id, param: param) }
        return account
    }

    func transfer(_ id: String) throws(StripeAPIError) -> TransferRecord {
        guard let transfer = transfers[id] else { throw .noSuch("transfer", id) }
        return transfer
    }

    /// The reversals of a transfer, oldest first.
    func reversals(of transfer: String) -> [ReversalRecord] {
        reversalOrder.compactMap { reversals[$0] }.filter { $0.transfer == transfer }
    }

    func transferJSON(_ transfer: TransferRecord) -> JSONValue {
        transfer.json(reversals: reversals(of: transfer.id))
    }
}
