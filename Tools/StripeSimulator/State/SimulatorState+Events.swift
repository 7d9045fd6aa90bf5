import EventContracts

extension SimulatorState {
    /// Events newest first; `type` may end in `*` (`payout.*`), as Stripe's filter allows.
    func listEvents(type: String?, page: ListPage) throws(StripeAPIError) -> JSONValue {
        let matching = events.reversed().filter { event in
            guard let type else { return true }
            return type.hasSuffix("*") ? event.type.hasPrefix(type.dropLast()) : event.type == type
        }
        let (slice, hasMore) = try page.apply(to: matching, id: \.id)
        return stripeList(slice.map(\.json), hasMore: hasMore, url: "/v1/events")
    }

    func retrieveEvent(_ id: String) throws(StripeAPIError) -> JSONValue {
        guard let event = events.first(where: { $0.id == id }) else { throw .noSuch("event", id) }
        return event.json
    }
}
