import NIOCore
import NIOTLS

/// One SMTP reply: the code and the text of each line (`250-…` lines then `250 …`).
struct SMTPReply: Sendable, Equatable {
    var code: Int
    var lines: [String]

    var text: String { lines.joined(separator: " ") }
}

/// Splits the server's bytes into replies and hands each to the next waiting command, in order.
/// Lives on the channel's event loop; `SMTPConnection` reaches it through `NIOLoopBound`.
final class SMTPReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var partial: [UInt8] = []
    private var lines: [String] = []
    private var ready: [Result<SMTPReply, any Error>] = []
    private var waiting: [EventLoopPromise<SMTPReply>] = []
    private var failure: SMTPError?
    /// Completed when the TLS handshake after STARTTLS finishes (or fails).
    private var handshake: EventLoopPromise<Void>?
    /// Bounds what a misbehaving server can make us buffer.
    private static let maximumLineLength = 4096

    /// Completes `promise` with the next reply, now if one has arrived.
    func nextReply(_ promise: EventLoopPromise<SMTPReply>) {
        if !ready.isEmpty {
            promise.completeWith(ready.removeFirst())
        } else if let failure {
            promise.fail(failure)
        } else {
            waiting.append(promise)
        }
    }

    /// Bytes received but not yet taken by a command. Must be none when STARTTLS begins:
    /// anything sent in clear after the server's 220 would be read as a reply under TLS.
    var hasBufferedInput: Bool { !partial.isEmpty || !lines.isEmpty || !ready.isEmpty }

    /// Completes `promise` once the TLS handshake has finished, so a refused certificate is
    /// reported as such at STARTTLS rather than as a closed channel at the next command.
    func awaitHandshake(_ promise: EventLoopPromise<Void>) {
        if let failure {
            promise.fail(failure)
        } else {
            handshake = promise
        }
    }

    /// Fails every waiting command (e.g. on timeout) and every later one.
    func fail(_ error: SMTPError) {
        if failure == nil { failure = error }
        let pending = waiting
        waiting = []
        for promise in pending { promise.fail(error) }
        handshake?.fail(error)
        handshake = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            handshake?.succeed()
            handshake = nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        guard let bytes = buffer.readBytes(length: buffer.readableBytes) else { return }
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if partial.last == UInt8(ascii: "\r") { partial.removeLast() }
                line(String(decoding: partial, as: UTF8.self))
                partial.removeAll(keepingCapacity: true)
            } else {
                partial.append(byte)
                if partial.count > Self.maximumLineLength {
                    fail(SMTPError(.protocolViolation, "reply line longer than \(Self.maximumLineLength) bytes"))
                    context.close(promise: nil)
                    return
                }
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(SMTPError(.connection, "the server closed the connection"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // During the handshake the error is the TLS layer's: e.g. an untrusted certificate.
        fail(handshake == nil ? SMTPError(.connection, "\(error)") : SMTPError(.tls, "TLS handshake failed: \(error)"))
        context.close(promise: nil)
    }

    private func line(_ text: String) {
        let characters = Array(text)
        guard characters.count >= 3, let code = Int(String(characters[0..<3])) else {
            deliver(.failure(SMTPError(.protocolViolation, "malformed reply line")))
            return
        }
        lines.append(characters.count > 4 ? String(characters[4...]) : "")
        // `250-` continues a multi-line reply; `250 ` (or a bare code) ends it.
        if characters.count == 3 || characters[3] == " " {
            deliver(.success(SMTPReply(code: code, lines: lines)))
            lines = []
        }
    }

    private func deliver(_ result: Result<SMTPReply, any Error>) {
        if waiting.isEmpty {
            ready.append(result)
        } else {
            waiting.removeFirst().completeWith(result)
        }
    }
}

/// An SMTP failure; `isPermanent` (a 5xx reply) means retrying the same message cannot help.
struct SMTPError: Error, CustomStringConvertible, Sendable {
    enum Code: String, Sendable {
        case connection, timeout, protocolViolation, rejected, tls, invalidAddress
    }

    var code: Code
    var message: String
    /// The server's reply code, when the server refused.
    var replyCode: Int?
    /// The refusal was about this message (its recipient or content), not about the session
    /// (greeting, EHLO, AUTH, sender policy): only then can a 5xx be final for the message.
    var aboutMessage: Bool

    init(_ code: Code, _ message: String, replyCode: Int? = nil, aboutMessage: Bool = false) {
        self.code = code
        self.message = message
        self.replyCode = replyCode
        self.aboutMessage = aboutMessage
    }

    /// Retrying this message cannot help. A misconfigured server (a wrong password, a relay
    /// refusing our sender) is not permanent: fixing it must let every queued email go out.
    var isPermanent: Bool {
        if code == .invalidAddress { return true }
        if let replyCode, aboutMessage { return (500..<600).contains(replyCode) }
        return false
    }

    var description: String {
        replyCode.map { "smtp \(code.rawValue) (\($0)): \(message)" } ?? "smtp \(code.rawValue): \(message)"
    }
}
