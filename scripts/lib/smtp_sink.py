#!/usr/bin/env python3
"""A local SMTP server (aiosmtpd) for development and tests.

Every message it accepts is written to MAILDIR as NAME.eml (the raw message) and NAME.json
(envelope, headers and each MIME part decoded by Python's email package), written atomically so
readers never see half a file. Stopping and restarting it on the same port simulates an outage.
With --starttls it offers STARTTLS with a self-signed certificate (made with openssl) and requires
it; with --auth USER:PASSWORD it requires AUTH (only over TLS). Each message records whether it
came over TLS and as whom, and whether the client pipelined its commands (PIPELINING is offered
unless --no-pipelining).

    smtp_sink.py --port 1025 --maildir .dev/mail [--port-file F] [--reject REGEX]
                 [--starttls] [--auth USER:PASSWORD] [--raw-only] [--no-pipelining]
"""
import argparse
import email
import itertools
import json
import os
import random
import re
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from email import policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, maildir, reject, raw_only=False, pipelining=True):
        self.maildir = maildir
        self.reject = re.compile(reject) if reject else None
        self.raw_only = raw_only
        self.pipelining = pipelining
        self.counter = itertools.count()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            # As mail servers do (RFC 2920): the client may send MAIL, RCPT and DATA at once.
            # aiosmtpd reads one command at a time from its stream, so it takes them in order.
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        # Whether the client sent what follows MAIL before this reply (it pipelined): read from
        # aiosmtpd's stream buffer (private; None if a later aiosmtpd has no such buffer).
        buffer = getattr(getattr(server, "_reader", None), "_buffer", None)
        envelope.pipelined = None if buffer is None else bool(buffer)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject and self.reject.search(address):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if self.raw_only:
            self.write(self.next_name(), ((".eml", raw),))
            return "250 2.0.0 Message accepted for delivery"
        message = email.message_from_bytes(raw, policy=policy.default)
        parts = []
        for part in message.walk():
            if part.is_multipart():
                continue
            parts.append({
                "contentType": part.get_content_type(),
                "charset": part.get_content_charset(),
                "transferEncoding": part.get("Content-Transfer-Encoding"),
                "content": part.get_content(),
            })
        document = {
            "mailFrom": envelope.mail_from,
            "rcptTos": envelope.rcpt_tos,
            "receivedAt": time.time(),
            "subject": str(message.get("Subject", "")),
            "messageId": str(message.get("Message-ID", "")),
            "contentType": message.get_content_type(),
            "headers": {key: str(value) for key, value in message.items()},
            "parts": parts,
            "tls": session.ssl is not None,
            # The client's address and port: which connection brought the message.
            "peer": f"{session.peer[0]}:{session.peer[1]}" if session.peer else None,
            "authenticatedAs": session.auth_data.login.decode() if session.authenticated else None,
            "pipelined": getattr(envelope, "pipelined", False),
        }
        self.write(self.next_name(), ((".eml", raw), (".json", json.dumps(document, indent=1).encode())))
        return "250 2.0.0 Message accepted for delivery"

    def next_name(self):
        return f"{time.time_ns()}-{os.getpid()}-{next(self.counter)}"

    def write(self, name, files):
        for suffix, data in files:
            tmp = os.path.join(self.maildir, f".{name}{suffix}.tmp")
            with open(tmp, "wb") as handle:
                handle.write(data)
            os.rename(tmp, os.path.join(self.maildir, name + suffix))


def self_signed_context():
    """A server TLS context with a fresh self-signed certificate for localhost."""
    directory = tempfile.mkdtemp(prefix="smtp-sink-tls-")
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def authenticator(expected):
    user, _, password = expected.partition(":")

    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user \
            and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)
    return check


def free_port(host):
    """A free port below the kernel's ephemeral range: a test stops and restarts the sink on the
    same port (an outage), and meanwhile an outgoing connection could take an ephemeral one."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as handle:
            ephemeral_start = int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_start = 32768
    for _ in range(1000):
        port = random.randrange(10000, max(10001, ephemeral_start))
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    raise SystemExit("no free port")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025, help="0 picks a free port (see --port-file)")
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--port-file", help="written with the port once the server accepts connections")
    parser.add_argument("--reject", help="recipients matching this regex get 550")
    parser.add_argument("--starttls", action="store_true", help="offer and require STARTTLS (self-signed)")
    parser.add_argument("--auth", metavar="USER:PASSWORD", help="require AUTH PLAIN/LOGIN with these credentials")
    parser.add_argument("--no-pipelining", action="store_true", help="do not offer PIPELINING in the EHLO reply")
    parser.add_argument("--raw-only", action="store_true",
                        help="write only NAME.eml, not the decoded NAME.json (parsing costs about 9 ms of CPU a "
                             "message: a benchmark's sink stands in for a remote relay and must not eat its cores)")
    args = parser.parse_args()
    os.makedirs(args.maildir, exist_ok=True)
    port = args.port or free_port(args.host)
    options = {}
    if args.starttls:
        options.update(tls_context=self_signed_context(), require_starttls=True)
    if args.auth:
        options.update(authenticator=authenticator(args.auth), auth_required=True)
    controller = Controller(Sink(args.maildir, args.reject, args.raw_only, not args.no_pipelining), hostname=args.host, port=port, **options)
    controller.start()
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as handle:
            handle.write(f"{port}\n")
        os.rename(args.port_file + ".tmp", args.port_file)
    print(f"smtp sink on {args.host}:{port}, mail in {args.maildir}", flush=True)
    stop = threading.Event()
    # A parent may pass on blocked signals (e.g. a Swift test process); SIGTERM must stop us.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
