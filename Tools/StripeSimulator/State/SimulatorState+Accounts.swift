import EventContracts

/// Connected accounts and their onboarding.
extension SimulatorState {
    /// How long an account link stays valid, as Stripe's do.
    static let accountLinkLifetime: Int64 = 300

    func createAccount(
        type: String, email: String?, country: String?, metadata: [String: String], controller: JSONValue?, capabilities: [String]
    ) -> JSONValue {
        let account = AccountRecord(
            id: Identifiers.make("acct", length: 16), type: type, email: email, country: country ?? "US", metadata: metadata,
            controller: controller, requestedCapabilities: capabilities, created: Identifiers.now())
        accounts[account.id] = account
        return account.json
    }

    func retrieveAccount(_ id: String) throws(StripeAPIError) -> JSONValue { try account(id).json }

    /// A single-use link to this simulator's onboarding page for the account.
    func createAccountLink(account id: String, refreshURL: String, returnURL: String) throws(StripeAPIError) -> JSONValue {
        _ = try account(id, param: "account")
        let token = Identifiers.make("link", length: 32)
        let created = Identifiers.now()
        let link = AccountLinkRecord(
            token: token, account: id, refreshURL: refreshURL, returnURL: returnURL,
            url: "\(baseURL)/connect/onboarding/\(id)?link=\(token)", created: created, expiresAt: created + Self.accountLinkLifetime)
        accountLinks[token] = link
        return link.json
    }

    enum LinkCheck: Sendable {
        case valid(AccountLinkRecord)
        /// Used or expired: Stripe sends the browser to the link's `refresh_url`.
        case stale(refreshURL: String)
        case unknown
    }

    func checkLink(_ token: String, account: String, now: Int64 = Identifiers.now()) -> LinkCheck {
        guard let link = accountLinks[token], link.account == account else { return .unknown }
        guard !link.used, now <= link.expiresAt else { return .stale(refreshURL: link.refreshURL) }
        return .valid(link)
    }

    /// Completes onboarding from a link (used up) and returns where the browser goes next.
    func completeOnboarding(link token: String, account: String, failingBank: Bool) throws(StripeAPIError) -> String {
        guard case .valid(var link) = checkLink(token, account: account) else {
            throw .invalidRequest("This account link is invalid, used or expired.")
        }
        link.used = true
        accountLinks[token] = link
        _ = try onboard(account, failingBank: failingBank)
        return link.returnURL
    }

    /// The account can now be paid (`account.updated`); a restriction is lifted.
    func onboard(_ id: String, failingBank: Bool) throws(StripeAPIError) -> JSONValue {
        var account = try account(id)
        account.onboarded = true
        account.failingBank = failingBank
        account.restricted = false
        accounts[id] = account
        emit("account.updated", account.json, account: id)
        return account.json
    }

    /// Stripe wants more information: payouts stop until the account is onboarded again.
    func restrict(_ id: String) throws(StripeAPIError) -> JSONValue {
        var account = try account(id)
        account.restricted = true
        accounts[id] = account
        emit("account.updated", account.json, account: id)
        return account.json
    }
}
