import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// Where and how to reach the SMTP server.
struct SMTPSettings: Sendable {
    var host: String
    var port: Int
    /// Upgrade with STARTTLS before anything else (refuse to go on if the server cannot).
    var startTLS: Bool
    /// Verify the server's certificate after STARTTLS (off only for local test servers).
    var verifyCertificate: Bool = true
    /// AUTH PLAIN credentials, sent only once the connection is encrypted or the server is local.
    var username: String?
    var password: String?
    var timeout: Duration
    /// The name we announce in EHLO.
    var heloName: String = "escrowmarket.local"
}

/// A small SMTP client (RFC 5321) on SwiftNIO: EHLO, optional STARTTLS and AUTH PLAIN,
/// MAIL/RCPT/DATA with dot-stuffing, pipelined when the server offers it (RFC 2920). `send`
/// returns once the server accepted the DATA, which is the moment the caller must record the
/// message as sent. A sender keeps its connection for the next message (an `SMTPSession`), as
/// mail servers expect of bulk senders.
struct SMTPClient: Sendable {
    let settings: SMTPSettings
    let logger: Logger
    /// Messages sent over one connection before it is closed and a new one opened.
    static let messagesPerConnection = 100

    /// One message over a connection of its own.
    func send(_ message: MailMessage) async throws {
        var session = SMTPSession()
        try await send(message, over: &session)
        await session.close()
    }

    /// Sends over the session's connection, opening one when it has none; the connection stays
    /// open for the next message. Any failure closes it. A reused connection that fails before
    /// the server heard anything of this message (the server dropped an idle connection, or
    /// says 421 at MAIL FROM) is replaced once: nothing of the message was sent.
    func send(_ message: MailMessage, over session: inout SMTPSession) async throws {
        guard message.from.isValid else { throw SMTPError(.invalidAddress, "invalid sender address") }
        guard message.to.isValid else { throw SMTPError(.invalidAddress, "invalid recipient address") }
        if session.sent >= Self.messagesPerConnection { await session.close() }
        let reused = session.connection != nil
        let connection: SMTPConnection
        if let open = session.connection {
            connection = open
        } else {
            connection = try await open()
            session = SMTPSession(connection: connection)
        }
        // A server that offers PIPELINING (RFC 2920; mail servers do) gets MAIL, RCPT and DATA in
        // one write, and its three replies are read in order: one round trip instead of three.
        // Any refusal closes the connection, so replies left unread do not matter.
        let envelope = ["MAIL FROM:<\(message.from.email)>", "RCPT TO:<\(message.to.email)>", "DATA"]
        /// The server's answer to `envelope[step]`: sent with the others already, or sent now.
        func answer(_ step: Int) async throws -> SMTPReply {
            connection.pipelining ? try await connection.reply() : try await connection.command(envelope[step])
        }
        do {
            do {
                if connection.pipelining { try await connection.write(envelope.map { $0 + "\r\n" }.joined()) }
                try connection.expect(try await answer(0), 250, "MAIL FROM")
            } catch let error as SMTPError where reused && (error.code == .connection || error.code == .timeout || error.replyCode == 421) {
                logger.debug("reused SMTP connection failed before the message; opening a new one", metadata: ["error": "\(error)"])
                await connection.close()
                session = SMTPSession()
                try await send(message, over: &session)
                return
            }
            let rcpt = try await answer(1)
            guard rcpt.code == 250 || rcpt.code == 251 else { throw connection.refused(rcpt, "RCPT TO", aboutMessage: true) }
            try connection.expect(try await answer(2), 354, "DATA", aboutMessage: true)
            try await connection.expect(connection.data(Self.dotStuffed(message.rendered())), 250, "message", aboutMessage: true)
            session.sent += 1
            session.lastSent = .now
        } catch {
            await session.close()
            throw error
        }
    }

    /// A connection past its greeting, EHLO, STARTTLS and AUTH as configured.
    private func open() async throws -> SMTPConnection {
        var connection = try await SMTPConnection.open(settings: settings, group: MultiThreadedEventLoopGroup.singleton)
        do {
            try await connection.expect(connection.reply(), 220, "greeting")
            var capabilities = try await connection.ehlo(settings.heloName)
            if settings.startTLS {
                guard capabilities.contains("STARTTLS") else {
                    throw SMTPError(.tls, "the server does not offer STARTTLS")
                }
                try await connection.expect(connection.command("STARTTLS"), 220, "STARTTLS")
                try await connection.startTLS(host: settings.host, verify: settings.verifyCertificate)
                capabilities = try await connection.ehlo(settings.heloName)
            }
            if let username = settings.username {
                guard settings.startTLS || Self.isLoopback(settings.host) else {
                    throw SMTPError(.tls, "refusing to send credentials without STARTTLS")
                }
                let credentials = Data("\0\(username)\0\(settings.password ?? "")".utf8).base64EncodedString()
                try await connection.expect(connection.command("AUTH PLAIN \(credentials)"), 235, "AUTH")
            }
            connection.pipelining = capabilities.contains("PIPELINING")
            return connection
        } catch {
            await connection.close()
            throw error
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// Lines starting with "." get another "." (RFC 5321 4.5.2); ends with CRLF.CRLF.
    /// One pass over the bytes; every line end becomes CRLF (a lone CR is data).
    static func dotStuffed(_ rendered: String) -> String {
        let bytes = Array(rendered.utf8)
        var body: [UInt8] = []
        body.reserveCapacity(bytes.count + 64)
        var atLineStart = true
        for (index, byte) in bytes.enumerated() {
            if byte == 0x0D, index + 1 < bytes.count, bytes[index + 1] == 0x0A { continue }  // its LF writes the CRLF
            if byte == 0x0A {
                body.append(contentsOf: [0x0D, 0x0A])
                atLineStart = true
                continue
            }
            if atLineStart, byte == UInt8(ascii: ".") { body.append(byte) }
            body.append(byte)
            atLineStart = false
        }
        if !body.isEmpty, atLineStart {
            body.append(contentsOf: Array(".\r\n".utf8))
        } else {
            body.append(contentsOf: Array("\r\n.\r\n".utf8))
        }
        return String(decoding: body, as: UTF8.self)
    }
}

/// A sender's connection between messages (none until the first).
struct SMTPSession: Sendable {
    var connection: SMTPConnection?
    /// Messages the server accepted over it.
    var sent = 0
    /// When the server last accepted a message over it.
    var lastSent: ContinuousClock.Instant?

    /// Says QUIT (its answer is not waited for) and closes.
    mutating func close() async {
        await connection?.quit()
        connection = nil
        sent = 0
        lastSent = nil
    }
}

/// One open SMTP conversation. Replies are taken in the order the commands went out.
struct SMTPConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<SMTPReplyHandler>
    let timeout: Duration
    /// The server offered PIPELINING in its (last) EHLO reply.
    var pipelining = false

    static func open(settings: SMTPSettings, group: any EventLoopGroup) async throws -> SMTPConnection {
        let installed = Mutex<NIOLoopBound<SMTPReplyHandler>?>(nil)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.nanoseconds(Int64(settings.timeout.components.seconds) * 1_000_000_000))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // Installed before the first read, so the greeting cannot be missed.
                        let handler = SMTPReplyHandler()
                        try channel.pipeline.syncOperations.addHandler(handler)
                        installed.withLock { $0 = NIOLoopBound(handler, eventLoop: channel.eventLoop) }
                    }
                }
                .connect(host: settings.host, port: settings.port).get()
        } catch {
            throw SMTPError(.connection, "cannot connect to \(settings.host):\(settings.port): \(error)")
        }
        guard let handler = installed.withLock({ $0 }) else {
            channel.close(promise: nil)
            throw SMTPError(.connection, "connection set-up failed")
        }
        return SMTPConnection(channel: channel, handler: handler, timeout: settings.timeout)
    }

    /// The next reply from the server, failing after the timeout.
    func reply() async throws -> SMTPReply {
        let loop = channel.eventLoop
        let promise = loop.makePromise(of: SMTPReply.self)
        let handler = self.handler
        let channel = self.channel
        let seconds = timeout
        loop.execute { handler.value.nextReply(promise) }
        let timer = loop.scheduleTask(in: .nanoseconds(Int64(seconds.components.seconds) * 1_000_000_000)) {
            handler.value.fail(SMTPError(.timeout, "no reply within \(seconds)"))
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        do {
            return try await promise.futureResult.get()
        } catch let error as SMTPError {
            throw error
        } catch {
            throw SMTPError(.connection, "\(error)")
        }
    }

    /// Sends one command line and returns the server's reply.
    func command(_ line: String) async throws -> SMTPReply {
        try await write(line + "\r\n")
        return try await reply()
    }

    /// Sends the already dot-stuffed message and the final ".".
    func data(_ stuffed: String) async throws -> SMTPReply {
        try await write(stuffed)
        return try await reply()
    }

    func ehlo(_ name: String) async throws -> Set<String> {
        let reply = try await command("EHLO \(name)")
        guard reply.code == 250 else { throw refused(reply, "EHLO") }
        return Set(reply.lines.dropFirst().compactMap { $0.split(separator: " ").first.map { $0.uppercased() } })
    }

    func startTLS(host: String, verify: Bool) async throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if !verify { configuration.certificateVerification = .none }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw SMTPError(.tls, "TLS set-up failed: \(error)")
        }
        // SNI takes a name, never an IP literal.
        let serverName = host.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" } ? nil : host
        let channel = self.channel
        let handshake = channel.eventLoop.makePromise(of: Void.self)
        do {
            let handler = self.handler
            try await channel.eventLoop.submit {
                guard !handler.value.hasBufferedInput else {
                    throw SMTPError(.protocolViolation, "the server sent data before the TLS handshake")
                }
                try channel.pipeline.syncOperations.addHandler(
                    try NIOSSLClientHandler(context: context, serverHostname: serverName), position: .first)
                // Still on the event loop: the handshake cannot finish before this is set.
                handler.value.awaitHandshake(handshake)
            }.get()
        } catch {
            handshake.fail(error)  // nobody else holds it
            throw error as? SMTPError ?? SMTPError(.tls, "STARTTLS failed: \(error)")
        }
        let (seconds, handler) = (timeout, self.handler)
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(seconds.components.seconds) * 1_000_000_000)) {
            handler.value.fail(SMTPError(.timeout, "no TLS handshake within \(seconds)"))
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        do {
            try await handshake.futureResult.get()
        } catch {
            throw error as? SMTPError ?? SMTPError(.tls, "TLS handshake failed: \(error)")
        }
    }

    func expect(_ reply: SMTPReply, _ code: Int, _ step: String, aboutMessage: Bool = false) throws {
        guard reply.code == code else { throw refused(reply, step, aboutMessage: aboutMessage) }
    }

    func refused(_ reply: SMTPReply, _ step: String, aboutMessage: Bool = false) -> SMTPError {
        SMTPError(.rejected, "\(step) refused: \(reply.text)", replyCode: reply.code, aboutMessage: aboutMessage)
    }

    func quit() async {
        try? await write("QUIT\r\n")
        await close()
    }

    func close() async {
        try? await channel.close()
    }

    func write(_ text: String) async throws {
        do {
            try await channel.writeAndFlush(ByteBuffer(string: text))
        } catch {
            throw SMTPError(.connection, "write failed: \(error)")
        }
    }
}
