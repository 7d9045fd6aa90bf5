import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// The buyers of `scripts/bench checkout` (scripts/lib/bench_checkout.py starts the stack, reads
/// the databases and /proc, and prints the report). Each of `--concurrency` buyers loops until
/// `--seconds` are up: `POST /api/v1/checkouts` with one listing of each of `--sellers` sellers,
/// `POST /api/v1/payments/create-intent`, `POST /api/v1/payments/confirm` with `pm_card_visa`.
/// Every checkout is a new buyer (`<run>-<n>`), so per-user rate limits do not shape the load.
/// With several instances of a service (`--order-url A,B`), buyer n uses instance n mod count.
/// Prints one JSON object: per call, the latencies and the answers by status.
@main
struct CheckoutBench {
    struct Options {
        var orderURLs: [String] = []
        var paymentURLs: [String] = []
        var jwtSecret = ""
        var listingsFile = ""
        var run = "bench"
        var concurrency = 4
        var seconds = 60
        var sellers = 2

        init(_ arguments: [String]) throws {
            var iterator = arguments.makeIterator()
            while let flag = iterator.next() {
                guard let value = iterator.next() else { throw BenchError("\(flag) needs a value") }
                func number() throws -> Int {
                    guard let n = Int(value), n > 0, n <= 100_000 else { throw BenchError("\(flag) needs a whole number 1...100000") }
                    return n
                }
                switch flag {
                case "--order-url": orderURLs = value.split(separator: ",").map(String.init)
                case "--payment-url": paymentURLs = value.split(separator: ",").map(String.init)
                case "--jwt-secret": jwtSecret = value
                case "--listings": listingsFile = value
                case "--run": run = value
                case "--concurrency": concurrency = try number()
                case "--seconds": seconds = try number()
                case "--sellers": sellers = try number()
                default: throw BenchError("unknown option \(flag)")
                }
            }
            guard !orderURLs.isEmpty, !paymentURLs.isEmpty, !jwtSecret.isEmpty, !listingsFile.isEmpty else {
                throw BenchError("--order-url, --payment-url, --jwt-secret and --listings are required")
            }
        }
    }

    struct BenchError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    struct Listing: Decodable {
        let id: String
        let seller: String
    }

    static func main() async throws {
        let options: Options
        do {
            options = try Options(Array(CommandLine.arguments.dropFirst()))
        } catch {
            // A usage mistake: say so, without a crash report.
            FileHandle.standardError.write(Data("CheckoutBench: \(error)\n".utf8))
            exit(2)
        }
        let listings = try JSONDecoder().decode([Listing].self, from: Data(contentsOf: URL(fileURLWithPath: options.listingsFile)))
        let bySeller = Dictionary(grouping: listings, by: \.seller).values.map(Array.init)
        guard bySeller.count >= options.sellers else {
            throw BenchError("\(options.sellers) sellers per cart, but the listings have \(bySeller.count) sellers")
        }
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: options.concurrency)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let recorder = Recorder()
        let buyers = Buyers(options: options, sellers: bySeller, client: client, recorder: recorder)
        let started = Date()
        let deadline = ContinuousClock.now + .seconds(options.seconds)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<options.concurrency {
                group.addTask { await buyers.loop(until: deadline) }
            }
        }
        let ended = Date()
        try await client.shutdown()
        let report = recorder.report(started: started, ended: ended, options: options)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        FileHandle.standardOutput.write(try encoder.encode(report))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}

/// One buyer's three calls, over and over.
final class Buyers: Sendable {
    let options: CheckoutBench.Options
    let sellers: [[CheckoutBench.Listing]]
    let client: HTTPClient
    let recorder: Recorder
    let counter = Atomic<Int>(0)
    /// How many times one call follows a 503's `Retry-After` before it counts as an error.
    static let maximumRetries = 5

    init(options: CheckoutBench.Options, sellers: [[CheckoutBench.Listing]], client: HTTPClient, recorder: Recorder) {
        self.options = options
        self.sellers = sellers
        self.client = client
        self.recorder = recorder
    }

    func loop(until deadline: ContinuousClock.Instant) async {
        while ContinuousClock.now < deadline {
            let n = counter.wrappingAdd(1, ordering: .relaxed).oldValue
            await checkout(n)
        }
    }

    private func checkout(_ n: Int) async {
        let buyer = "\(options.run)-\(n)"
        let token = JWT.hs256(secret: options.jwtSecret, subject: buyer, role: "buyer")
        let orders = options.orderURLs[n % options.orderURLs.count]
        let payments = options.paymentURLs[n % options.paymentURLs.count]
        let items = sellers.shuffled().prefix(options.sellers).map { listings in
            ["listingId": listings.randomElement()!.id, "quantity": 1] as [String: Any]
        }
        let checkoutBody: [String: Any] = [
            "items": items,
            "shippingAddress": ["name": "Bench Buyer", "line1": "1 Load Street", "city": "Berlin", "postalCode": "10115", "country": "DE"],
        ]
        guard let checkout = await call("checkout", orders + "/api/v1/checkouts", token: token, body: checkoutBody, key: "bench-\(buyer)"),
              let checkoutId = checkout["checkoutId"] as? String
        else { return }
        // create-intent waits for the payment record itself; if it did not come in time, a 503 asks to retry.
        guard let intent = await call("create-intent", payments + "/api/v1/payments/create-intent", token: token, body: ["checkoutId": checkoutId]),
              let paymentId = intent["paymentId"] as? String
        else { return }
        guard await call("confirm", payments + "/api/v1/payments/confirm", token: token,
                         body: ["paymentId": paymentId, "paymentMethod": "pm_card_visa"]) != nil
        else { return }
        recorder.completed()
    }

    /// The parsed JSON object of a 2xx answer, nil otherwise (recorded either way). A 503 with
    /// `Retry-After` is retried after it, as a client would, up to `maximumRetries` times: the
    /// call's latency is the whole wait, and the retries are counted apart, not as errors.
    private func call(_ name: String, _ url: String, token: String, body: [String: Any], key: String? = nil) async -> [String: Any]? {
        let started = ContinuousClock.now
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        if let key { request.headers.add(name: "Idempotency-Key", value: key) }
        do {
            request.body = .bytes(ByteBuffer(bytes: Array(try JSONSerialization.data(withJSONObject: body))))
            var retries = 0
            var response = try await client.execute(request, timeout: .seconds(30))
            while response.status == .serviceUnavailable, retries < Self.maximumRetries,
                  let seconds = response.headers.first(name: "Retry-After").flatMap(Int.init), (0...30).contains(seconds) {
                _ = try await response.body.collect(upTo: 1 << 20)
                recorder.retried(name)
                retries += 1
                try await Task.sleep(for: .seconds(seconds))
                response = try await client.execute(request, timeout: .seconds(30))
            }
            let bytes = try await response.body.collect(upTo: 1 << 20)
            let status = Int(response.status.code)
            recorder.record(name, status: status, elapsed: ContinuousClock.now - started)
            guard (200..<300).contains(status) else {
                recorder.sample(name, status: status, body: String(buffer: bytes))
                return nil
            }
            return try JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any]
        } catch {
            recorder.record(name, status: 0, elapsed: ContinuousClock.now - started)
            recorder.sample(name, status: 0, body: "\(error)")
            return nil
        }
    }
}

/// Latencies and statuses per call, behind a lock (a few hundred records a second).
final class Recorder: Sendable {
    private struct State {
        var latencies: [String: [Double]] = [:]
        var statuses: [String: [String: Int]] = [:]
        var samples: [String: String] = [:]
        var retries: [String: Int] = [:]
        var completed = 0
    }

    private let state = Mutex(State())

    func record(_ call: String, status: Int, elapsed: Duration) {
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        state.withLock {
            $0.latencies[call, default: []].append(ms)
            $0.statuses[call, default: [:]]["\(status)", default: 0] += 1
        }
    }

    /// The first answer of each failing kind, to show what went wrong.
    func sample(_ call: String, status: Int, body: String) {
        state.withLock { $0.samples["\(call) \(status)"] = $0.samples["\(call) \(status)"] ?? String(body.prefix(300)) }
    }

    /// A 503 answer retried after its `Retry-After`.
    func retried(_ call: String) {
        state.withLock { $0.retries[call, default: 0] += 1 }
    }

    func completed() {
        state.withLock { $0.completed += 1 }
    }

    struct Report: Encodable {
        var startedAt: Double
        var endedAt: Double
        var concurrency: Int
        var sellersPerCart: Int
        var completed: Int
        var calls: [String: Call]
        var errorSamples: [String: String]
        /// 503 answers retried after their `Retry-After`, per call.
        var retries: [String: Int]

        struct Call: Encodable {
            var count: Int
            var statuses: [String: Int]
            var latencyMs: [String: Double]
        }
    }

    func report(started: Date, ended: Date, options: CheckoutBench.Options) -> Report {
        state.withLock { state in
            var calls: [String: Report.Call] = [:]
            for (name, values) in state.latencies {
                calls[name] = .init(count: values.count, statuses: state.statuses[name] ?? [:], latencyMs: percentiles(values))
            }
            return Report(
                startedAt: started.timeIntervalSince1970, endedAt: ended.timeIntervalSince1970,
                concurrency: options.concurrency, sellersPerCart: options.sellers, completed: state.completed,
                calls: calls, errorSamples: state.samples, retries: state.retries)
        }
    }
}

/// p50/p90/p99/max of `values` (nearest rank).
func percentiles(_ values: [Double]) -> [String: Double] {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return [:] }
    func at(_ p: Double) -> Double {
        sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
    }
    return ["p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": sorted[sorted.count - 1]]
}

/// An HS256 token as the services accept it (scripts/lib/mint_token.py mints the same).
enum JWT {
    static func hs256(secret: String, subject: String, role: String) -> String {
        let now = Int(Date().timeIntervalSince1970)
        let header = #"{"alg":"HS256","typ":"JWT"}"#
        let claims = #"{"sub":"\#(subject)","roles":["\#(role)"],"email":"\#(subject)@example.test","iat":\#(now),"exp":\#(now + 3600)}"#
        let input = base64URL(Data(header.utf8)) + "." + base64URL(Data(claims.utf8))
        let signature = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return input + "." + base64URL(Data(signature))
    }

    private static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
