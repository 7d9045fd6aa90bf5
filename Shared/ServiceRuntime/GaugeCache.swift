/// Scrape-time gauges, computed at most once per `ttl` however many scrapes arrive: `/metrics`
/// has no authentication, so without this every request would run the services' counting
/// queries. Scrapes that arrive while a computation runs wait for it instead of starting another.
actor GaugeCache {
    let ttl: Duration
    private let compute: @Sendable () async -> [GaugeFamily]
    private var latest: (at: ContinuousClock.Instant, families: [GaugeFamily])?
    private var running: Task<[GaugeFamily], Never>?

    init(ttl: Duration, compute: @escaping @Sendable () async -> [GaugeFamily]) {
        self.ttl = ttl
        self.compute = compute
    }

    func families() async -> [GaugeFamily] {
        if let latest, ContinuousClock.now - latest.at < ttl { return latest.families }
        if let running { return await running.value }
        let task = Task { await compute() }
        running = task
        let families = await task.value
        latest = (ContinuousClock.now, families)
        running = nil
        return families
    }
}
