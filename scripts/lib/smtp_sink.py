#!/usr/bin/env python3
"""A local SMTP server (aiosmtpd) for development and tests.

Every message it accepts is written to MAILDIR as NAME.eml (the raw message) and NAME.json
(envelope, headers and each MIME part decoded by Python's email package), written atomically so
readers never see half a file. Stopping and restarting it on the same port simulates an outage.

    smtp_sink.py --port 1025 --maildir .dev/mail [--port-file F] [--reject REGEX]
"""
import argparse
import email
import itertools
import json
import os
import re
import signal
import socket
import threading
import time
from email import policy

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, maildir, reject):
        self.maildir = maildir
        self.reject = re.compile(reject) if reject else None
        self.counter = itertools.count()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject and self.reject.search(address):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
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
        }
        name = f"{time.time_ns()}-{os.getpid()}-{next(self.counter)}"
        for suffix, data in ((".eml", raw), (".json", json.dumps(document, indent=1).encode())):
            tmp = os.path.join(self.maildir, f".{name}{suffix}.tmp")
            with open(tmp, "wb") as handle:
                handle.write(data)
            os.rename(tmp, os.path.join(self.maildir, name + suffix))
        return "250 2.0.0 Message accepted for delivery"


def free_port(host):
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025, help="0 picks a free port (see --port-file)")
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--port-file", help="written with the port once the server accepts connections")
    parser.add_argument("--reject", help="recipients matching this regex get 550")
    args = parser.parse_args()
    os.makedirs(args.maildir, exist_ok=True)
    port = args.port or free_port(args.host)
    controller = Controller(Sink(args.maildir, args.reject), hostname=args.host, port=port)
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
