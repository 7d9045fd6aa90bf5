/// `/v1/events`: every webhook the simulator sent (or would have sent) is also an Event object.
struct EventRoutes: Sendable {
    let state: SimulatorState

    func register(on api: StripeAPI) {
        api.get("/v1/events", ListPage.schema.merging(["type": .string]) { own, _ in own }) { call in
            try await state.listEvents(type: call.parameters.string("type"), page: try ListPage(call.parameters))
        }
        api.get("/v1/events/{id}") { call in try await state.retrieveEvent(call.id()) }
    }
}
