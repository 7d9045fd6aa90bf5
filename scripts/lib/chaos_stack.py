"""The chaos run's environment: the four service processes (started, killed and restarted from the
same binary and environment), Postgres (queries through psql, restarts), the broker (frozen with
SIGSTOP, read with a minimal Kafka client for the DLQ topics), and the Stripe simulator (its API and
its control API). Standard library only."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# name, role (= schema = Postgres role), consumer group (= inbox consumer name)
SERVICES = [
    ("OrderService", "orders", "order-service"),
    ("PaymentService", "payments", "payment-service"),
    ("EscrowService", "escrow", "escrow-service"),
    ("NotificationService", "notifications", "notification-service"),
]
SCHEMAS = [role for _, role, _ in SERVICES]


class Env:
    """What scripts/chaos started, from its environment variables."""

    def __init__(self) -> None:
        e = os.environ
        self.dir = Path(e["CHAOS_DIR"])
        self.bin_dir = Path(e["CHAOS_BIN_DIR"])
        self.pg_bin = Path(e["CHAOS_PG_BIN"])
        self.pg_data = e["CHAOS_PG_DATA"]
        self.pg_log = e["CHAOS_PG_LOG"]
        self.pg_port = int(e["CHAOS_PG_PORT"])
        # The services reach Postgres through its Unix-domain socket (as `scripts/dev up` runs
        # them): cheaper round trips than TCP on one machine.
        self.pg_socket_dir = e.get("CHAOS_PG_SOCKET_DIR", "")
        self.pg_owner = e.get("CHAOS_PG_OWNER", "postgres")
        self.kafka_port = int(e["CHAOS_KAFKA_PORT"])
        self.broker_pidfile = Path(e["CHAOS_BROKER_PIDFILE"])
        self.smtp_port = int(e["CHAOS_SMTP_PORT"])
        self.topics = e["CHAOS_TOPICS"].split()
        self.partitions = int(e.get("CHAOS_PARTITIONS", "3"))
        ports = [int(p) for p in e["CHAOS_SERVICE_PORTS"].split()]
        # Four ports per instance: instance 1 of each service, then instance 2, ...
        self.instances = max(1, len(ports) // len(SERVICES))
        self.instance_ports = {name: [ports[i + k * len(SERVICES)] for k in range(self.instances)]
                               for i, (name, _, _) in enumerate(SERVICES)}
        self.ports = {name: p[0] for name, p in self.instance_ports.items()}
        self.jwt_secret = secrets.token_hex(32)
        # The simulator (started by scripts/chaos) signs its webhooks with this secret.
        self.webhook_secret = e["CHAOS_WEBHOOK_SECRET"]
        self.stripe_url = e["CHAOS_STRIPE_URL"]
        self.stripe_key = e["CHAOS_STRIPE_KEY"]
        self.stripe_pidfile = Path(e["CHAOS_STRIPE_PIDFILE"])

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def urls(self, name: str) -> list[str]:
        """Every instance's address."""
        return [f"http://127.0.0.1:{p}" for p in self.instance_ports[name]]


# --- Postgres -------------------------------------------------------------------------------

class Database:
    """Queries as the superuser through psql (one process per query: simple, and it survives
    the restarts the run causes)."""

    def __init__(self, env: Env):
        self.env = env

    def rows(self, sql: str, timeout: float = 60, retry_for: float = 30) -> list[dict]:
        """The rows of a SELECT as dicts (through json_agg); retried while Postgres restarts."""
        wrapped = f"SELECT coalesce(json_agg(t), '[]'::json) FROM ({sql}) t"
        deadline = time.monotonic() + retry_for
        while True:
            proc = subprocess.run(
                [str(self.env.pg_bin / "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                 "-p", str(self.env.pg_port), "-U", "postgres", "-d", "escrowmarket", "-c", wrapped],
                capture_output=True, text=True, timeout=timeout)
            if proc.returncode == 0:
                return json.loads(proc.stdout.strip() or "[]")
            transient = any(s in proc.stderr for s in (
                "could not connect", "Connection refused", "the database system is", "terminating connection",
                "server closed the connection", "No such file"))
            if not transient or time.monotonic() > deadline:
                raise RuntimeError(f"psql failed: {proc.stderr.strip()}\nquery: {sql}")
            time.sleep(0.5)

    def value(self, sql: str):
        rows = self.rows(sql)
        if not rows:
            return None
        return next(iter(rows[0].values()))

    def restart(self) -> float:
        """pg_ctl restart -m fast as the cluster owner; returns how long it took."""
        cmd = [str(self.env.pg_bin / "pg_ctl"), "-D", self.env.pg_data, "-m", "fast", "-w", "-t", "60", "restart"]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", self.env.pg_owner, "--"] + cmd
        started = time.monotonic()
        # The new postmaster keeps pg_ctl's output: append it to the cluster's log.
        with open(self.env.pg_log, "ab") as log:
            subprocess.run(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd="/", check=True, timeout=120)
        return time.monotonic() - started


# --- services -------------------------------------------------------------------------------

def http_get(url: str, timeout: float = 3) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (OSError, urllib.error.URLError):
        return 0, ""


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, from /proc (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Restart:
    service: str
    killed_at: float          # wall clock
    started_at: float         # wall clock, the new process
    ready_after: float | None = None      # seconds from start to /health/ready 200
    assigned_after: float | None = None   # seconds from start to partitions assigned (/metrics lag samples)
    handled_after: float | None = None    # seconds from start to the first event its consumer handled (inbox)
    frozen_during: float = 0.0            # of those, seconds the broker was frozen (SIGSTOP)


@dataclass
class Service:
    name: str         # the instance: OrderService, OrderService-2, ...
    role: str
    consumer: str
    port: int
    binary: Path
    environ: dict
    log_path: Path
    pidfile: Path
    proc: subprocess.Popen | None = None
    cpu_of_dead: float = 0.0  # CPU seconds of instances that were killed
    restarts: list = field(default_factory=list)

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(self.binary)], env=self.environ, cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        tmp = self.pidfile.with_suffix(".tmp")
        tmp.write_text(f"{self.proc.pid}\n")
        tmp.replace(self.pidfile)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def cpu_seconds(self) -> float:
        return self.cpu_of_dead + (proc_cpu_seconds(self.proc.pid) if self.alive() else 0.0)

    def kill9(self) -> None:
        if self.alive():
            self.cpu_of_dead += proc_cpu_seconds(self.proc.pid)
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def ready(self) -> bool:
        return http_get(f"http://127.0.0.1:{self.port}/health/ready", timeout=2)[0] == 200

    def wait_ready(self, timeout: float) -> float | None:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if not self.alive():
                return None
            if self.ready():
                return time.monotonic() - started
            time.sleep(0.2)
        return None

    def metrics(self) -> str:
        status, text = http_get(f"http://127.0.0.1:{self.port}/metrics", timeout=5)
        return text if status == 200 else ""

    def lag(self) -> list[tuple[str, int, float]] | None:
        """(topic, partition, lag) per assigned partition from /metrics; None when unreachable."""
        text = self.metrics()
        if not text:
            return None
        out = []
        for m in re.finditer(r'^kafka_consumer_lag_messages\{([^}]*)\}\s+(\S+)$', text, re.M):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            out.append((labels.get("topic", "?"), int(labels.get("partition", "-1")), float(m.group(2))))
        return out

    def gauge_sum(self, name: str) -> float | None:
        """The sum of a metric's samples in /metrics; None when it is not exported."""
        values = [float(m.group(1)) for m in re.finditer(rf'^{name}(?:\{{[^}}]*\}})?\s+(\S+)$', self.metrics(), re.M)]
        return sum(values) if values else None

    def stop_term(self, grace: float) -> float | None:
        """SIGTERM; seconds until it exited, or None (then SIGKILL) when it ignored it for `grace`."""
        if not self.alive():
            return 0.0
        started = time.monotonic()
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
            return time.monotonic() - started
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            return None


def _local_fetch_waits() -> dict[str, int]:
    """fetch.wait.max.ms per service on the local broker, from scripts/lib/fetch-waits (which says
    why; scripts/lib/stack.sh reads it too)."""
    waits = {}
    for line in (Path(__file__).parent / "fetch-waits").read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if fields:
            waits[fields[0]] = int(fields[1])
    return waits


FETCH_WAITS_MS = _local_fetch_waits()


# The consumers on the way from a checkout to its escrow held (the bench's --fetch-wait-ms).
ON_THE_WAY_TO_ESCROW = ("PaymentService", "EscrowService")


def fetch_wait_ms(program: str, on_the_way: int | None = None, mail: int | None = None) -> int:
    """A service's fetch.wait.max.ms on the local broker: the file's, unless the bench overrides the
    consumers on the way to escrow (`on_the_way`) or NotificationService's (`mail`)."""
    override = mail if program == "NotificationService" else on_the_way if program in ON_THE_WAY_TO_ESCROW else None
    return FETCH_WAITS_MS[program] if override is None else override


def consumer_properties(program: str, on_the_way: int | None = None, mail: int | None = None) -> str:
    """KAFKA_CONSUMER_PROPERTIES for one of the four services on the local broker."""
    return f"fetch.wait.max.ms={fetch_wait_ms(program, on_the_way, mail)}"


def make_services(env: Env) -> dict[str, Service]:
    """Every instance of every service, by instance name (`OrderService`, `OrderService-2`, ...)."""
    services = {}
    base = {k: v for k, v in os.environ.items() if not k.startswith("CHAOS_")}
    for k, (name, role, consumer) in ((k, s) for k in range(env.instances) for s in SERVICES):
        program = name
        name = program if k == 0 else f"{program}-{k + 1}"
        port = env.instance_ports[program][k]
        environ = dict(base)
        if env.instances > 1:
            # Dynamic group membership with several instances on the local broker (see
            # scripts/lib/stack.sh).
            environ["KAFKA_GROUP_INSTANCE_ID"] = "none"
        environ.update({
            "APP_ENV": "development",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(port),
            "DATABASE_URL": f"postgres://{role}:{role}@127.0.0.1:{env.pg_port}/escrowmarket"
                            + (f"?host={env.pg_socket_dir}" if env.pg_socket_dir else ""),
            "DATABASE_SCHEMA": role,
            "KAFKA_BROKERS": f"127.0.0.1:{env.kafka_port}",
            "KAFKA_CONSUMER_PROPERTIES": consumer_properties(program),
            # Four services (and Postgres, the broker) share the machine's cores: one event loop
            # each (see ServiceConfiguration.eventLoopThreads).
            "EVENT_LOOP_THREADS": "1",
            # As the image sets it (Dockerfile): two malloc arenas, so memory levels off.
            "MALLOC_ARENA_MAX": "2",
            "JWT_SECRET": env.jwt_secret,
            "STRIPE_WEBHOOK_SECRET": env.webhook_secret,
            # Always the run's own simulator: without settings a service would call 127.0.0.1:12111,
            # where `scripts/dev up` may run another.
            "STRIPE_SECRET_KEY": env.stripe_key,
            "STRIPE_API_BASE": env.stripe_url,
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(env.smtp_port),
            "LOG_FORMAT": "json",
            # A Stripe call gives up after 10 s here (30 s by default), so a lost answer (the
            # gateway fault hangs 12 s) costs a journey seconds, not most of its step budget.
            "STRIPE_TIMEOUT_MS": "10000",
            "ESCROW_TIMER_INTERVAL_SECONDS": "10",
        })
        for var in ("KAFKA_TOPIC_PREFIX", "STRIPE_TRANSFER_GROUP", "STRIPE_ALLOW_SIMULATOR_IN_PRODUCTION"):
            environ.pop(var, None)
        services[name] = Service(
            name=name, role=role, consumer=consumer, port=port, binary=env.bin_dir / program, environ=environ,
            log_path=env.dir / "logs" / f"{name}.log", pidfile=env.dir / "services" / f"{name}.pid")
    return services


# --- the Stripe simulator -------------------------------------------------------------------

class GatewayError(Exception):
    """The simulator answered something other than what was asked for (or did not answer)."""


class Gateway:
    """The run's Stripe simulator: its Stripe API (`/v1`, with the services' test key) and its
    control API (`/_sim`). 5xx answers and connection failures are retried for a while: an
    injected `server_error` fault may still be on."""

    def __init__(self, env: Env):
        self.url, self.key, self.pidfile = env.stripe_url, env.stripe_key, env.stripe_pidfile

    def alive(self) -> bool:
        try:
            pid = int(self.pidfile.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return False
        return http_get(f"{self.url}/_sim/health", timeout=3)[0] == 200

    def _request(self, method: str, path: str, *, params: dict | None = None, form: dict | None = None,
                 body=None, account: str | None = None, retry_for: float = 30) -> tuple[int, object]:
        url = self.url + path + (("?" + urllib.parse.urlencode(params)) if params else "")
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
        elif body is not None:
            data = json.dumps(body).encode()
        deadline = time.monotonic() + retry_for
        while True:
            req = urllib.request.Request(url, data=data, method=method)
            if path.startswith("/v1/"):
                req.add_header("Authorization", f"Bearer {self.key}")
            if account:
                req.add_header("Stripe-Account", account)
            if form is not None:
                req.add_header("Content-Type", "application/x-www-form-urlencoded")
            elif body is not None:
                req.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    status, raw = r.status, r.read()
            except urllib.error.HTTPError as e:
                status, raw = e.code, e.read()
            except (OSError, urllib.error.URLError) as e:
                status, raw = 0, str(e).encode()
            if (status == 0 or status >= 500) and time.monotonic() < deadline:
                time.sleep(0.5)
                continue
            try:
                return status, json.loads(raw) if raw else None
            except ValueError:
                return status, raw.decode(errors="replace")

    def call(self, method: str, path: str, **kwargs):
        """The JSON answer of a call that must succeed (GatewayError otherwise)."""
        status, answer = self._request(method, path, **kwargs)
        if status != 200:
            raise GatewayError(f"{method} {path} -> {status}: {str(answer)[:300]}")
        return answer

    def control(self, method: str, path: str, body=None):
        return self.call(method, f"/_sim/{path}", body=body)

    def list_all(self, path: str, params: dict | None = None) -> list[dict]:
        """Every object of a Stripe list (newest first), page by page."""
        items: list[dict] = []
        params = dict(params or {}, limit=100)
        while True:
            page = self.call("GET", path, params=params)
            items += page["data"]
            if not page.get("has_more") or not page["data"]:
                return items
            params["starting_after"] = page["data"][-1]["id"]


# --- broker ---------------------------------------------------------------------------------

def broker_pid(env: Env) -> int:
    return int(env.broker_pidfile.read_text().strip())


class Kafka:
    """Just enough of the Kafka protocol to read a topic: ListOffsets v1 and Fetch v4 with
    record batches v2 (uncompressed or gzip), headers included."""

    def __init__(self, host: str, port: int):
        self.addr = (host, port)
        self.correlation = 0

    def _call(self, api_key: int, version: int, body: bytes, timeout: float = 10) -> bytes:
        self.correlation += 1
        client = b"chaos"
        header = struct.pack(">hhih", api_key, version, self.correlation, len(client)) + client
        msg = header + body
        with socket.create_connection(self.addr, timeout=timeout) as s:
            s.sendall(struct.pack(">i", len(msg)) + msg)
            size = struct.unpack(">i", self._recv(s, 4))[0]
            data = self._recv(s, size)
        if struct.unpack(">i", data[:4])[0] != self.correlation:
            raise RuntimeError("kafka: correlation id mismatch")
        return data[4:]

    @staticmethod
    def _recv(s: socket.socket, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("kafka: connection closed")
            buf += chunk
        return buf

    @staticmethod
    def _str(s: str) -> bytes:
        b = s.encode()
        return struct.pack(">h", len(b)) + b

    def offsets(self, topic: str, partitions: int, which: int) -> dict[int, int]:
        """which: -1 latest (high watermark), -2 earliest."""
        body = struct.pack(">ii", -1, 1) + self._str(topic) + struct.pack(">i", partitions)
        for p in range(partitions):
            body += struct.pack(">iq", p, which)
        r = Reader(self._call(2, 1, body))
        out = {}
        for _ in range(r.i32()):
            r.string()
            for _ in range(r.i32()):
                p, err, _ts, off = r.i32(), r.i16(), r.i64(), r.i64()
                if err != 0:
                    raise RuntimeError(f"kafka ListOffsets error {err} on {topic}/{p}")
                out[p] = off
        return out

    def fetch_all(self, topic: str, partition: int) -> list[dict]:
        """Every record of one partition, from the earliest offset to the high watermark."""
        start = self.offsets(topic, partition + 1, -2).get(partition, 0)
        end = self.offsets(topic, partition + 1, -1).get(partition, 0)
        records: list[dict] = []
        offset = start
        while offset < end:
            body = struct.pack(">iiiib", -1, 100, 1, 8 << 20, 0) + struct.pack(">i", 1) + self._str(topic)
            body += struct.pack(">i", 1) + struct.pack(">iqi", partition, offset, 4 << 20)
            r = Reader(self._call(1, 4, body, timeout=20))
            r.i32()  # throttle
            got = []
            for _ in range(r.i32()):
                r.string()
                for _ in range(r.i32()):
                    _p, err, _hw, _lso = r.i32(), r.i16(), r.i64(), r.i64()
                    n = r.i32()
                    for _ in range(max(n, 0)):
                        r.i64(), r.i64()
                    raw = r.bytes()
                    if err != 0:
                        raise RuntimeError(f"kafka Fetch error {err} on {topic}/{partition}")
                    got += parse_batches(raw or b"")
            got = [g for g in got if g["offset"] >= offset]
            if not got:
                break
            records += got
            offset = got[-1]["offset"] + 1
        return records


class Reader:
    def __init__(self, data: bytes):
        self.d, self.o = data, 0

    def take(self, n: int) -> bytes:
        b = self.d[self.o:self.o + n]
        self.o += n
        return b

    def i8(self): return struct.unpack(">b", self.take(1))[0]
    def i16(self): return struct.unpack(">h", self.take(2))[0]
    def i32(self): return struct.unpack(">i", self.take(4))[0]
    def i64(self): return struct.unpack(">q", self.take(8))[0]

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode(errors="replace")

    def bytes(self):
        n = self.i32()
        return None if n < 0 else self.take(n)

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.d[self.o]
            self.o += 1
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
        return (result >> 1) ^ -(result & 1)

    def vbytes(self):
        n = self.varint()
        return None if n < 0 else self.take(n)


def parse_batches(raw: bytes) -> list[dict]:
    out = []
    r = Reader(raw)
    while len(raw) - r.o >= 12:
        base = r.i64()
        length = r.i32()
        if len(raw) - r.o < length:
            break  # a partial batch at the end of the response
        batch = Reader(r.take(length))
        batch.i32()  # leader epoch
        magic = batch.i8()
        if magic != 2:
            continue
        batch.i32()  # crc
        attributes = batch.i16()
        batch.i32(), batch.i64(), batch.i64(), batch.i64(), batch.i16(), batch.i32()
        count = batch.i32()
        rest = batch.d[batch.o:]
        codec = attributes & 7
        if attributes & 0x20:
            continue  # control batch
        if codec == 1:
            rest = gzip.decompress(rest)
        elif codec != 0:
            out.append({"offset": base, "undecodable": f"compression codec {codec}", "key": None, "value": None, "headers": {}})
            continue
        rec = Reader(rest)
        for _ in range(count):
            rec.varint()  # length
            rec.i8()
            rec.varint()  # timestamp delta
            delta = rec.varint()
            key = rec.vbytes()
            value = rec.vbytes()
            headers = {}
            for _ in range(rec.varint()):
                hk = rec.vbytes()
                hv = rec.vbytes()
                headers[(hk or b"").decode(errors="replace")] = None if hv is None else hv.decode(errors="replace")
            out.append({"offset": base + delta, "key": key, "value": value, "headers": headers})
    return out


# --- webhooks -------------------------------------------------------------------------------

def stripe_signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe (and Shared/StripeClient/StripeSignature.swift) makes."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def post_webhook(url: str, payload: bytes, secret: str, timeout: float = 10) -> int:
    req = urllib.request.Request(url, data=payload, method="POST")
    req.add_header("Content-Type", "application/json")
    req.add_header("Stripe-Signature", stripe_signature(payload, secret))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        e.read()
        return e.code
    except (OSError, urllib.error.URLError):
        return 0


def stored_webhooks(db: Database) -> list[tuple[str, bytes]]:
    rows = db.rows("SELECT id, encode(payload, 'base64') AS payload FROM payments.stripe_events ORDER BY received_at")
    return [(r["id"], base64.b64decode(r["payload"])) for r in rows]
