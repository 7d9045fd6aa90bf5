import Hummingbird

/// The page a Checkout Session's `url` opens, standing in for Stripe's hosted Checkout: the
/// amount and items, a test card to pick, "Pay" (then the session's `success_url`), and the
/// `cancel_url` link. A decline shows Stripe's message and lets the buyer pick another card.
struct CheckoutPage: Sendable {
    let state: SimulatorState

    static let cards: [(String, String)] = [
        ("pm_card_visa", "Visa 4242 4242 4242 4242"), ("pm_card_mastercard", "Mastercard 5555 5555 5555 4444"),
        ("pm_card_chargeDeclined", "Visa 4000 0000 0000 0002 (declined)"),
        ("pm_card_visa_chargeDeclinedInsufficientFunds", "Visa 4000 0000 0000 9995 (insufficient funds)"),
    ]

    func register(on router: Router<BasicRequestContext>) {
        router.get("/checkout/pay/{session}") { _, context in
            let id = try context.parameters.require("session")
            guard let session = try? await state.checkoutSession(id) else {
                return OnboardingPage.page("Unknown session", "<p>This Checkout Session does not exist.</p>", status: .notFound)
            }
            return Self.render(session, error: nil)
        }
        router.post("/checkout/pay/{session}") { request, context in
            var request = request
            let id = try context.parameters.require("session")
            let form = (try? FormValue.parse(String(buffer: try await request.collectBody(upTo: 4096)))).map(FormParameters.init)
            let method = form?.string("payment_method") ?? ""
            guard Self.cards.contains(where: { $0.0 == method }) else {
                return OnboardingPage.page("Pick a card", "<p>Pick one of the test cards.</p>", status: .badRequest)
            }
            do {
                switch try await state.payCheckoutSession(id, paymentMethod: method) {
                case .paid(let redirect):
                    context.logger.info("checkout session paid", metadata: ["session": "\(id)"])
                    return Response.redirect(to: redirect, type: .normal)
                case .declined(let message):
                    return Self.render(try await state.checkoutSession(id), error: message)
                }
            } catch let error as StripeAPIError {
                return OnboardingPage.page("Checkout unavailable", "<p>\(OnboardingPage.escape(error.message))</p>", status: .conflict)
            }
        }
    }

    static func render(_ session: CheckoutSessionRecord, error: String?) -> Response {
        guard session.status == "open" else {
            return OnboardingPage.page("Checkout \(session.status)", "<p>This Checkout Session is \(session.status).</p>")
        }
        let amount = "\(session.currency.uppercased()) \(session.amountTotal) (minor units)"
        let items = session.lineItems.map {
            "<li>\(OnboardingPage.escape($0.name)) × \($0.quantity): \($0.unitAmount * $0.quantity)</li>"
        }.joined()
        let options = cards.map { "<option value=\"\($0.0)\">\(OnboardingPage.escape($0.1))</option>" }.joined()
        let cancel = session.cancelURL.map { "<p><a id=\"cancel\" href=\"\(OnboardingPage.escape($0))\">Cancel and go back</a></p>" } ?? ""
        return OnboardingPage.page(
            "Stripe simulator: Checkout",
            """
            <p>This page stands in for Stripe's hosted Checkout. Pay <strong id="amount">\(amount)</strong>.</p>
            <ul id="items">\(items)</ul>
            \(error.map { "<p id=\"error\" role=\"alert\">\(OnboardingPage.escape($0))</p>" } ?? "")
            <form method="post" action="/checkout/pay/\(OnboardingPage.escape(session.id))">
              <label>Test card <select name="payment_method">\(options)</select></label>
              <button type="submit" id="pay">Pay</button>
            </form>
            \(cancel)
            """)
    }
}
