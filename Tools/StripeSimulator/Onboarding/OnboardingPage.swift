import Hummingbird

/// The page an account link opens, standing in for Stripe's hosted onboarding: complete it
/// (optionally with the failing test bank account), and the browser goes to the link's
/// `return_url`; a used or expired link goes to its `refresh_url`, as Stripe's do.
struct OnboardingPage: Sendable {
    let state: SimulatorState

    func register(on router: Router<BasicRequestContext>) {
        router.get("/connect/onboarding/{account}") { request, context in
            let account = try context.parameters.require("account")
            let token = request.uri.queryParameters.get("link") ?? ""
            switch await state.checkLink(token, account: account) {
            case .unknown: return Self.page("Unknown link", "<p>This onboarding link does not exist.</p>", status: .notFound)
            case .stale(let refreshURL): return Response.redirect(to: refreshURL, type: .found)
            case .valid:
                let action = Self.escape("/connect/onboarding/\(account)?link=\(token)")
                return Self.page(
                    "Stripe simulator: onboarding",
                    """
                    <p>Account <code>\(Self.escape(account))</code>. This page stands in for Stripe's hosted onboarding.</p>
                    <form method="post" action="\(action)">
                      <button type="submit" name="outcome" value="complete">Complete onboarding</button>
                      <button type="submit" name="outcome" value="failing_bank">Complete with a failing bank account (000111111116)</button>
                    </form>
                    """)
            }
        }
        router.post("/connect/onboarding/{account}") { request, context in
            var request = request
            let account = try context.parameters.require("account")
            let token = request.uri.queryParameters.get("link") ?? ""
            let form = (try? FormValue.parse(String(buffer: try await request.collectBody(upTo: 4096)))).map(FormParameters.init)
            let failingBank = form?.string("outcome") == "failing_bank"
            switch await state.checkLink(token, account: account) {
            case .unknown: return Self.page("Unknown link", "<p>This onboarding link does not exist.</p>", status: .notFound)
            case .stale(let refreshURL): return Response.redirect(to: refreshURL, type: .normal)
            case .valid:
                let returnURL = try await state.completeOnboarding(link: token, account: account, failingBank: failingBank)
                context.logger.info("onboarding completed", metadata: ["account": "\(account)", "failing_bank": "\(failingBank)"])
                return Response.redirect(to: returnURL, type: .normal)
            }
        }
    }

    static func page(_ title: String, _ body: String, status: HTTPResponse.Status = .ok) -> Response {
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title></head>
            <body><h1>\(escape(title))</h1>\(body)</body></html>
            """
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
