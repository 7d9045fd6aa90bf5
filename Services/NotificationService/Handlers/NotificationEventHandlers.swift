import EventContracts
import Foundation
import Logging
import Messaging
import PostgresNIO
import Synchronization

/// How NotificationService reacts to the other services' events: it keeps its projection up to
/// date and queues emails, all in the consumer's transaction with the inbox row, so a
/// redelivered event changes nothing and the idempotency keys keep each email single.
struct NotificationEventHandlers: Sendable {
    let projection: ProjectionStore
    let receipts: ReceiptStore
    let reminders: ReminderStore
    let notifier: Notifier
    let settings: NotificationSettings

    static let orderEventTypes = [
        "order.placed", "order.paid", "order.shipped", "order.delivered", "order.completed", "order.cancelled",
        "order.disputed", "order.refunded", "order.tracking_updated",
    ]

    /// The handlers and the stores they write, as the service assembles them.
    init(settings: NotificationSettings, logger: Logger) throws {
        projection = ProjectionStore(logger: logger)
        receipts = ReceiptStore(logger: logger, projection: projection)
        reminders = ReminderStore(logger: logger)
        notifier = Notifier(
            renderer: try EmailRenderer(platformName: settings.platformName, platformAddress: settings.platformAddress),
            store: NotificationStore(logger: logger, messageIdDomain: settings.messageIdDomain),
            models: EmailModels(linkBaseURL: settings.linkBaseURL), adminEmail: settings.adminEmail)
        self.settings = settings
    }

    var models: EmailModels { notifier.models }

    var all: [EventHandler] {
        Self.orderEventTypes.map { type in EventHandler(eventType: type) { context in try await orderChanged(context) } }
            + [
                .on(CheckoutCreated.self) { event, context in
                    try await projection.apply(event, on: context.connection)
                    learn([(event.buyerId, event.buyerEmail)], context)
                    try await context.resumeDeferred(Self.checkout(event.checkoutId))
                },
                .on(PaymentSucceeded.self) { event, context in try await paymentSucceeded(event, context) },
                .on(PaymentFailed.self) { event, context in try await paymentFailed(event, context) },
                .on(RefundSucceeded.self) { event, context in try await refundSucceeded(event, context) },
                EventHandler(eventType: ChargebackChanged.openedType) { context in
                    try await chargebackOpened(try context.envelope.decodePayload(as: ChargebackChanged.self), context)
                },
            ] + escrowHandlers
    }

    /// Leaves the users' addresses for the end of the transaction (`ContactUpdates`).
    func learn(_ contacts: [(userId: String, email: String?)], _ context: EventContext) {
        context.atTransactionEnd(ContactUpdates.self) { ContactUpdates(projection: projection) }.add(contacts)
    }

    func orderChanged(_ context: EventContext) async throws {
        let event = try context.envelope.decodePayload(as: OrderEvent.self)
        let connection = context.connection
        let first = try await projection.apply(event, occurredAt: context.envelope.occurredAt, on: connection)
        learn([(event.order.buyerId, event.order.buyerEmail), (event.order.sellerId, event.order.sellerEmail)], context)
        // The email describes the order as this event saw it, even if a newer event came first.
        let order = ProjectedOrder(event.order, autoConfirmAt: event.autoConfirmAt)
        let source = context.envelope.id
        let model: [String: Any] = ["order": models.order(order)]
        switch context.envelope.type {
        case "order.placed":
            try await notifier.queue(.orderConfirmation, to: .user(order.buyerId), order: order.id, source: source, model: model, on: connection)
        case "order.paid":
            var seller = model
            seller["shipTo"] = models.shipTo(order.shippingAddress)
            try await notifier.queue(.newPaidOrder, to: .user(order.sellerId), order: order.id, source: source, model: seller, on: connection)
            try await reminders.schedule(
                .shipOrder, orderId: order.id, at: context.envelope.occurredAt.addingTimeInterval(settings.shipReminderDelay),
                on: connection)
        case "order.shipped":
            try await reminders.cancel([.shipOrder], orderId: order.id, on: connection)
            var buyer = model
            buyer["autoConfirm"] = event.autoConfirmAt.map(EmailModels.date)
            try await notifier.queue(.orderShipped, to: .user(order.buyerId), order: order.id, source: source, model: buyer, on: connection)
            if let autoConfirmAt = event.autoConfirmAt, autoConfirmAt > Date() {
                let due = max(Date(), autoConfirmAt.addingTimeInterval(-settings.confirmReminderLead))
                try await reminders.schedule(.confirmDelivery, orderId: order.id, at: due, on: connection)
            }
        case "order.delivered":
            try await reminders.cancel([.shipOrder, .confirmDelivery], orderId: order.id, on: connection)
            try await notifier.queue(.deliveryConfirmed, to: .user(order.buyerId), order: order.id, source: source, model: model, on: connection)
        case "order.cancelled", "order.completed", "order.refunded", "order.disputed":
            try await reminders.cancel([.shipOrder, .confirmDelivery], orderId: order.id, on: connection)
        default:
            break
        }
        // What waits for the order waits for its first event here: once the order is in the
        // projection, nothing is deferred for it (`deferUnless` finds it) and its receipt, if
        // any, is no longer missing it. So a later event of the order has nothing to release.
        guard first else { return }
        try await context.resumeDeferred(Self.order(order.id))
        // A receipt waiting for this order's lines can go out now: looked for at the end.
        checkoutReceipts(context).orderArrived(order.checkoutId)
    }

    /// The receipt is issued at the end of the transaction (`CheckoutReceipts`).
    func paymentSucceeded(_ event: PaymentSucceeded, _ context: EventContext) async throws {
        checkoutReceipts(context).issue(ReceiptStore.Issue(payment: event, source: context.envelope.id, logger: context.logger))
    }

    func checkoutReceipts(_ context: EventContext) -> CheckoutReceipts {
        context.atTransactionEnd(CheckoutReceipts.self) { CheckoutReceipts(handlers: self) }
    }

    /// What the transaction's events ask of receipts, with their checkouts locked (taken after
    /// the orders are written and before anything is read: a transaction that handles a payment
    /// at the same time either commits its receipt before this one's lock is granted, and this
    /// one finds it, or takes the lock after this one commits, and finds the orders). The
    /// receipts that waited for an order that arrived are emailed; then the transaction's
    /// payments get their receipts, the counter locked last, and each whose orders are all known
    /// is emailed (the others go out with their last order's event).
    func settleReceipts(
        issuing issues: [ReceiptStore.Issue], ordersArrivedIn checkouts: [UUID], on connection: PostgresConnection
    ) async throws {
        try await receipts.lockCheckouts(issues.map(\.payment.checkoutId) + checkouts, on: connection)
        for checkoutId in checkouts {
            for receipt in try await receipts.awaitingEmail(checkoutId: checkoutId, on: connection) {
                try await emailReceipt(receipt, on: connection)
            }
        }
        for (id, issue) in try await receipts.issue(issues, on: connection) {
            guard let receipt = try await receipts.receipt(id, on: connection) else { continue }
            issue.logger.info(
                "receipt issued", metadata: ["receipt": "\(receipt.receiptNumber)", "payment_id": "\(issue.payment.paymentId)"])
            try await emailReceipt(receipt, on: connection)
        }
    }

    /// Queues the receipt email once every order of the payment is known (at most once).
    func emailReceipt(_ receipt: Receipt, on connection: PostgresConnection) async throws {
        guard !receipt.emailed, receipt.isComplete,
              let buyer = receipt.buyerId ?? receipt.orders.first?.projected?.buyerId
        else { return }
        try await notifier.queue(
            .paymentReceipt, to: .user(buyer), order: receipt.orders.count == 1 ? receipt.orders[0].orderId : nil,
            source: receipt.sourceEventId,
            model: ["receipt": models.receipt(receipt), "orders": models.receiptOrders(receipt)], on: connection)
        try await receipts.markEmailed(receipt.id, buyerId: buyer, on: connection)
    }

    func paymentFailed(_ event: PaymentFailed, _ context: EventContext) async throws {
        let connection = context.connection
        // The failure can overtake its checkout (another topic): the email waits for it.
        var known: ProjectionStore.Checkout?
        let early = try await context.deferUnless(Self.checkout(event.checkoutId)) {
            known = try await projection.checkout(event.checkoutId, on: connection)
            return known != nil
        }
        guard !early, let checkout = known else { return }
        let orders = try await projection.orders(ofCheckout: event.checkoutId, on: connection)
        try await notifier.queue(
            .paymentFailed, to: .user(checkout.buyerId), order: orders.count == 1 ? orders[0].id : nil, source: context.envelope.id,
            model: [
                "amount": MoneyFormat.format(checkout.totalAmount, checkout.currency), "reason": event.reason,
                "orders": orders.map(models.order), "link": models.link("/checkout"),
            ], on: connection)
    }

    func refundSucceeded(_ event: RefundSucceeded, _ context: EventContext) async throws {
        let connection = context.connection
        // The refund can overtake its order's events (another topic): the email waits for the order.
        let early = try await context.deferUnless(Self.order(event.orderId)) {
            try await projection.order(event.orderId, on: connection) != nil
        }
        if early { return }
        guard try await receipts.addRefund(event, at: context.envelope.occurredAt, on: connection) else { return }
        let order = try await projection.order(event.orderId, on: connection)
        let receipt = try await receipts.receipt(paymentId: event.paymentId, on: connection)
        guard let buyer = order?.buyerId ?? receipt?.buyerId else { return }
        var model: [String: Any] = [
            "amount": MoneyFormat.format(event.amount, event.currency), "order": orderModel(event.orderId, order),
        ]
        model["receipt"] = receipt.map(models.receipt)
        try await notifier.queue(.refundIssued, to: .user(buyer), order: event.orderId, source: context.envelope.id, model: model, on: connection)
    }

    func chargebackOpened(_ event: ChargebackChanged, _ context: EventContext) async throws {
        let orders = try await projection.orders(event.orders.map(\.orderId), on: context.connection)
        try await notifier.queue(
            .adminChargeback, to: notifier.admin, order: event.orders.count == 1 ? event.orders[0].orderId : nil,
            source: context.envelope.id,
            model: [
                "amount": MoneyFormat.format(event.amount, event.currency), "chargeId": event.chargeId,
                "paymentId": event.paymentId.uuidString.lowercased(), "reason": event.reason, "status": event.status,
                "orders": event.orders.map { part in
                    [
                        "orderNumber": orders[part.orderId]?.orderNumber ?? part.orderId.uuidString.lowercased(),
                        "amount": MoneyFormat.format(part.amount, event.currency),
                    ]
                },
            ], on: context.connection)
    }

    /// The order's template values, or its id when its events have not arrived.
    /// The order as projected; when its event has not arrived yet (topics are not ordered with
    /// each other), its id and, where the event at hand carries it, the amount.
    func orderModel(_ id: UUID, _ order: ProjectedOrder?, amount: Int64? = nil, currency: String? = nil) -> [String: Any] {
        if let order { return models.order(order) }
        var model: [String: Any] = ["orderNumber": id.uuidString.lowercased(), "url": models.link("/orders/\(id.uuidString.lowercased())")]
        if let amount, let currency { model["total"] = MoneyFormat.format(amount, currency) }
        return model
    }

    /// What an event about a checkout waits for when it overtakes the checkout's creation.
    static func checkout(_ id: UUID) -> String {
        "checkout:\(id.uuidString.lowercased())"
    }

    /// What an event about an order waits for when it overtakes the order's first event.
    static func order(_ id: UUID) -> String {
        "order:\(id.uuidString.lowercased())"
    }
}

extension ProjectedOrder {
    init(_ snapshot: OrderSnapshot, autoConfirmAt: Date?) {
        self.init(
            id: snapshot.orderId, orderNumber: snapshot.orderNumber, checkoutId: snapshot.checkoutId, buyerId: snapshot.buyerId,
            sellerId: snapshot.sellerId, status: snapshot.status, currency: snapshot.currency,
            subtotalAmount: snapshot.subtotalAmount, totalAmount: snapshot.totalAmount, items: snapshot.items,
            shippingAddress: snapshot.shippingAddress, carrier: snapshot.carrier, trackingNumber: snapshot.trackingNumber,
            autoConfirmAt: autoConfirmAt)
    }

}

/// What a consumer transaction's events ask of receipts, done at its end and after the addresses
/// it learnt (`ContactUpdates`): the checkouts' locks, then the receipt counter, are the last
/// locks any transaction takes, in one order. Taken by each event's handler, in event order, two
/// instances' batches deadlocked: one that had handled checkout X's payment and went on to Y's
/// order against one that had handled Y's other order and went on to X's; or one holding the
/// counter against one holding a checkout it went on to.
final class CheckoutReceipts: TransactionEndWork {
    static let runOrder = 1
    let handlers: NotificationEventHandlers
    private let pending = Mutex<(issues: [ReceiptStore.Issue], arrived: [UUID])>(([], []))

    init(handlers: NotificationEventHandlers) {
        self.handlers = handlers
    }

    /// A succeeded payment: its receipt is issued.
    func issue(_ issue: ReceiptStore.Issue) {
        pending.withLock { $0.issues.append(issue) }
    }

    /// An order's first event: a receipt of its checkout that waited for it may go out.
    func orderArrived(_ checkoutId: UUID) {
        pending.withLock { $0.arrived.append(checkoutId) }
    }

    func run(on connection: PostgresConnection, logger: Logger) async throws {
        let due = pending.withLock { pending in
            defer { pending = ([], []) }
            return pending
        }
        guard !due.issues.isEmpty || !due.arrived.isEmpty else { return }
        var seen = Set<UUID>()
        try await handlers.settleReceipts(
            issuing: due.issues, ordersArrivedIn: due.arrived.filter { seen.insert($0).inserted }, on: connection)
    }
}
