import Foundation
import HTTPSupport
import Hummingbird

/// The pages a browser sees during onboarding. In simulated mode the onboarding link opens a
/// local page (standing in for Stripe's hosted onboarding) whose button completes onboarding
/// and sends the signed `account.updated` webhook; the return and refresh pages end the
/// journey in both modes.
struct OnboardingPages: Sendable {
    let simulated: SimulatedEscrowGateway?

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("sellers/onboarding/return") { _, _ in
            Self.page("Onboarding submitted", "<p>Thank you. Your payout account is being verified; you can close this window.</p>")
        }
        router.get("sellers/onboarding/refresh") { _, _ in
            Self.page("Link expired", "<p>This onboarding link has expired. Request a new one from the marketplace.</p>")
        }
        guard let simulated else { return }
        router.get("simulated/connect/onboarding/{account}") { request, context in
            let account = try verified(request, context)
            let action = Self.escape(request.uri.string)
            return Self.page(
                "Simulated Stripe onboarding",
                """
                <p>Account <code>\(Self.escape(account))</code>. This page stands in for Stripe's hosted onboarding.</p>
                <form method="post" action="\(action)">
                  <button type="submit" name="outcome" value="complete">Complete onboarding</button>
                  <button type="submit" name="outcome" value="failing_bank">Complete with a bank account whose payouts fail</button>
                </form>
                """)
        }
        router.post("simulated/connect/onboarding/{account}") { request, context in
            let account = try verified(request, context)
            let form = String(buffer: try await request.body.collect(upTo: 4096))
            let failingBank = form.split(separator: "&").contains("outcome=failing_bank")
            guard try await simulated.completeOnboarding(account: account, failingBank: failingBank) else {
                throw Problem(status: .badGateway, type: "/problems/gateway", title: "Webhook not delivered",
                              detail: "Onboarding was recorded but account.updated could not be delivered (is STRIPE_WEBHOOK_URL right?).")
            }
            context.logger.info("simulated onboarding completed", metadata: ["account": "\(account)", "failing_bank": "\(failingBank)"])
            return Self.page(
                "Onboarding complete",
                "<p>Account <code>\(Self.escape(account))</code> can now receive transfers and payouts.</p><p><a href=\"/sellers/onboarding/return\">Return to the marketplace</a></p>")
        }
    }

    private func verified(_ request: Request, _ context: AppRequestContext) throws -> String {
        let account = try context.parameters.require("account")
        guard let simulated,
            let expires = request.uri.queryParameters.get("expires").flatMap({ Int64($0) }),
            let signature = request.uri.queryParameters.get("signature"),
            simulated.links.isValid(account: account, expires: expires, signature: signature)
        else {
            throw Problem.notFound("This onboarding link is invalid or has expired; request a new one.")
        }
        return account
    }

    static func page(_ title: String, _ body: String) -> Response {
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title></head>
            <body><h1>\(escape(title))</h1>\(body)</body></html>
            """
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: .init(string: html)))
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
