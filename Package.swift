// swift-tools-version:6.1
import PackageDescription

// librdkafka >= 2.8 lives in a cached prefix built by `scripts/dev deps`; its pkg-config file
// is found through PKG_CONFIG_PATH, and the rpath below lets binaries find the shared library.
let rdkafkaPrefix = Context.environment["RDKAFKA_PREFIX"]
let rdkafkaLinkerSettings: [LinkerSetting] = rdkafkaPrefix.map {
    [.unsafeFlags(["-Xlinker", "-rpath", "-Xlinker", "\($0)/lib"])]
} ?? []

let package = Package(
    name: "EscrowMarket",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "OrderService", targets: ["OrderService"]),
        .executable(name: "PaymentService", targets: ["PaymentService"]),
        .executable(name: "EscrowService", targets: ["EscrowService"]),
        .executable(name: "NotificationService", targets: ["NotificationService"]),
        .executable(name: "StripeSimulator", targets: ["StripeSimulator"]),
        .executable(name: "WebConsole", targets: ["WebConsole"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // MARK: Shared libraries
        .systemLibrary(
            name: "CRdKafka",
            path: "Shared/CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev (>= 2.8, built by scripts/dev deps)"])]
        ),
        .target(
            name: "EventContracts",
            path: "Shared/EventContracts"
        ),
        .target(
            name: "Persistence",
            dependencies: [
                "EventContracts",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Shared/Persistence"
        ),
        .target(
            name: "Messaging",
            dependencies: [
                "CRdKafka", "EventContracts", "Persistence",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/Messaging",
            resources: [.copy("Migrations")],
            linkerSettings: rdkafkaLinkerSettings
        ),
        .target(
            name: "HTTPSupport",
            dependencies: [
                "EventContracts",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Shared/HTTPSupport"
        ),
        .target(
            name: "StripeClient",
            dependencies: [
                "EventContracts", "Persistence",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Shared/StripeClient"
        ),
        .target(
            name: "ServiceRuntime",
            dependencies: [
                "HTTPSupport", "Messaging", "Persistence", "EventContracts",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Shared/ServiceRuntime",
            resources: [.copy("Migrations")]
        ),

        .target(
            name: "GatewayCommands",
            dependencies: [
                "Persistence", "Messaging", "ServiceRuntime", "StripeClient", "HTTPSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/GatewayCommands",
            resources: [.copy("Migrations")]
        ),

        // MARK: Services
        service("OrderService"),
        service("PaymentService", extra: ["StripeClient", "GatewayCommands", .product(name: "AsyncHTTPClient", package: "async-http-client")]),
        service("EscrowService", extra: ["StripeClient", "GatewayCommands"]),
        service("NotificationService", extra: [
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOTLS", package: "swift-nio"),
        ]),

        // The web console: static pages plus a proxy to the four services' public APIs (no
        // database, no broker, so no librdkafka).
        .executableTarget(
            name: "WebConsole",
            dependencies: [
                "HTTPSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Services/WebConsole",
            // Public/: the pages (HTML, CSS, JavaScript modules), served as they are.
            resources: [.copy("Public")]
        ),

        // MARK: Development tools (outside the production services)
        .executableTarget(
            name: "StripeSimulator",
            dependencies: [
                "EventContracts", "StripeClient", "Persistence",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tools/StripeSimulator",
            exclude: ["README.md"]
        ),

        // MARK: Benchmarks (scripts/bench)
        .executableTarget(
            name: "EventBench",
            dependencies: ["Messaging", "Persistence", "EventContracts", "TestSupport"],
            path: "Benchmarks/EventBench",
            linkerSettings: rdkafkaLinkerSettings
        ),
        .executableTarget(
            name: "CheckoutBench",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Benchmarks/CheckoutBench"
        ),

        // MARK: Tests
        .executableTarget(
            name: "EventProbe",
            dependencies: ["Messaging", "Persistence", "EventContracts"],
            path: "Tests/EventProbe",
            linkerSettings: rdkafkaLinkerSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "Messaging", "Persistence", "EventContracts", "ServiceRuntime", "HTTPSupport", "StripeClient",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "EventContractsTests",
            dependencies: ["EventContracts", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(
            name: "PersistenceTests",
            dependencies: ["Persistence", "TestSupport"]
        ),
        .testTarget(
            name: "MessagingTests",
            dependencies: [
                "Messaging", "Persistence", "EventContracts", "TestSupport", "EventProbe",
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            linkerSettings: rdkafkaLinkerSettings
        ),
        .testTarget(
            name: "HTTPSupportTests",
            dependencies: [
                "HTTPSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "WebConsoleTests",
            dependencies: [
                "WebConsole", "HTTPSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ]
        ),
        .testTarget(name: "StripeClientTests", dependencies: ["StripeClient", "EventContracts"]),
        .testTarget(
            name: "GatewayCommandsTests",
            dependencies: [
                "GatewayCommands", "ServiceRuntime", "StripeClient", "Persistence", "TestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: rdkafkaLinkerSettings
        ),
        .testTarget(
            name: "StripeSimulatorTests",
            dependencies: [
                "StripeClient", "EventContracts", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            linkerSettings: rdkafkaLinkerSettings
        ),
        .testTarget(
            name: "PaymentServiceTests",
            dependencies: [
                "PaymentService", "ServiceRuntime", "TestSupport", "Messaging", "HTTPSupport", "EventContracts", "StripeClient",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            linkerSettings: rdkafkaLinkerSettings
        ),
        .testTarget(
            name: "OrderServiceTests",
            dependencies: [
                "OrderService", "ServiceRuntime", "TestSupport", "Messaging", "HTTPSupport", "EventContracts",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            linkerSettings: rdkafkaLinkerSettings
        ),
        .testTarget(
            name: "EscrowServiceTests",
            dependencies: [
                "EscrowService", "PaymentService", "ServiceRuntime", "TestSupport", "EventContracts",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            linkerSettings: rdkafkaLinkerSettings
        ),
        .testTarget(
            name: "NotificationServiceTests",
            dependencies: [
                "NotificationService", "ServiceRuntime", "TestSupport", "EventContracts", "HTTPSupport", "Messaging",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            linkerSettings: rdkafkaLinkerSettings
        ),
        .testTarget(
            name: "JourneyTests",
            dependencies: ["TestSupport", "Messaging", "EventContracts"],
            linkerSettings: rdkafkaLinkerSettings
        ),
        .testTarget(
            name: "ServiceRuntimeTests",
            dependencies: [
                "ServiceRuntime", "TestSupport", "OrderService", "PaymentService", "EscrowService",
                "NotificationService",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            linkerSettings: rdkafkaLinkerSettings
        ),
    ]
)

/// One executable per service under `Services/<Name>`, all assembled by `ServiceRuntime`.
func service(_ name: String, extra: [Target.Dependency] = []) -> Target {
    .executableTarget(
        name: name,
        dependencies: [
            "ServiceRuntime", "HTTPSupport", "Messaging", "Persistence", "EventContracts",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ] + extra,
        path: "Services/\(name)",
        // OpenAPI/openapi.json is the service's contract, served at /openapi.json.
        resources: [.copy("Migrations"), .copy("OpenAPI")],
        linkerSettings: rdkafkaLinkerSettings
    )
}

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.swiftLanguageMode(.v6))
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    target.swiftSettings = settings
}
