/// Stripe's list paging: `limit` (1–100, default 10) and a cursor, `starting_after` (older
/// than that object) or `ending_before` (newer than it). Lists are newest first.
struct ListPage: Sendable {
    var limit = 10
    var startingAfter: String?
    var endingBefore: String?

    init(_ parameters: FormParameters) throws(StripeAPIError) {
        if let limit = parameters.integer("limit") {
            guard (1...100).contains(limit) else {
                throw .invalidParameter("limit", "This value must be between 1 and 100 (inclusive).", code: "parameter_invalid_integer")
            }
            self.limit = Int(limit)
        }
        startingAfter = parameters.string("starting_after")
        endingBefore = parameters.string("ending_before")
    }

    static let schema: [String: ParameterSchema] = ["limit": .integer, "starting_after": .string, "ending_before": .string]

    /// The page of `items` (already newest first) and whether more follow.
    func apply<Item>(to items: some Collection<Item>, id: (Item) -> String) throws(StripeAPIError) -> ([Item], Bool) {
        var items = Array(items)
        if let startingAfter {
            guard let index = items.firstIndex(where: { id($0) == startingAfter }) else {
                throw .invalidParameter("starting_after", "No such object: '\(startingAfter)'", code: "resource_missing")
            }
            items = Array(items[(index + 1)...])
            return (Array(items.prefix(limit)), items.count > limit)
        }
        if let endingBefore {
            guard let index = items.firstIndex(where: { id($0) == endingBefore }) else {
                throw .invalidParameter("ending_before", "No such object: '\(endingBefore)'", code: "resource_missing")
            }
            items = Array(items[..<index])
            return (Array(items.suffix(limit)), items.count > limit)
        }
        return (Array(items.prefix(limit)), items.count > limit)
    }
}
