import EventContracts
import HTTPTypes
import Hummingbird

/// One Stripe API call as an endpoint sees it: valid parameters and the account it acts on.
struct APICall: Sendable {
    var parameters: FormParameters
    /// `Stripe-Account`: the connected account the call acts on, nil for the platform.
    var account: String?
    /// The `{id}`-style parts of the path.
    var path: [String: String]

    func id(_ name: String = "id") -> String { path[name] ?? "" }

    /// Refuses `Stripe-Account` where only the platform's side is simulated (no direct charges
    /// on connected accounts: the platform charges, then transfers).
    func requirePlatform() throws(StripeAPIError) {
        guard account == nil else {
            var error = StripeAPIError.invalidRequest(
                "The simulator supports this endpoint on the platform account only; send it without Stripe-Account.")
            error.beforeExecution = true
            throw error
        }
    }
}

/// An endpoint's work: the object to answer with, or a `StripeAPIError`.
typealias APIHandler = @Sendable (APICall) async throws -> JSONValue

/// Registers Stripe endpoints on the router, each behind the `APIPipeline`.
struct StripeAPI {
    let router: Router<BasicRequestContext>
    let pipeline: APIPipeline

    func post(_ path: RouterPath, _ fields: [String: ParameterSchema], _ handler: @escaping APIHandler) {
        let schema = ParameterSchema.parameters(fields)
        let pipeline = pipeline
        router.post(path) { request, context in await pipeline.respond(request, context, schema: schema, handler: handler) }
    }

    func get(_ path: RouterPath, _ fields: [String: ParameterSchema] = [:], _ handler: @escaping APIHandler) {
        let schema = ParameterSchema.parameters(fields)
        let pipeline = pipeline
        router.get(path) { request, context in await pipeline.respond(request, context, schema: schema, handler: handler) }
    }
}

extension HTTPField.Name {
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
    static let requestId = Self("Request-Id")!
    static let stripeAccount = Self("Stripe-Account")!
    static let stripeVersion = Self("Stripe-Version")!
}
