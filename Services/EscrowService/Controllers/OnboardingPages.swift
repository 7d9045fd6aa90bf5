import Foundation
import HTTPSupport
import Hummingbird

/// Where Stripe's hosted onboarding sends the seller's browser back (the account link's
/// `return_url` and `refresh_url`).
struct OnboardingPages: Sendable {
    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("sellers/onboarding/return") { _, _ in
            Self.page("Onboarding submitted", "<p>Thank you. Your payout account is being verified; you can close this window.</p>")
        }
        router.get("sellers/onboarding/refresh") { _, _ in
            Self.page("Link expired", "<p>This onboarding link has expired. Request a new one from the marketplace.</p>")
        }
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
