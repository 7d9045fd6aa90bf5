"""What `scripts/bench checkout` samples while it runs: each process's CPU (from /proc) and
resident memory, and the services' /metrics, scraped as Prometheus would. Standard library only."""

from __future__ import annotations

import math
import threading
import time
import urllib.request
from pathlib import Path

from chaos_stack import Env, broker_pid, proc_cpu_seconds


def percentiles(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    if not values:
        return {}

    def at(p: float) -> float:
        return values[min(len(values) - 1, max(0, math.ceil(p * len(values)) - 1))]
    return {"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": values[-1]}


def memory_mb(pid: int) -> tuple[float, float]:
    """Resident MB of a process, whole (`VmRSS`) and the part it allocated itself (`RssAnon`:
    heap, stacks, arenas; the rest is its executable and libraries), from one read."""
    found = {"VmRSS": 0.0, "RssAnon": 0.0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name = line.split(":", 1)[0]
            if name in found:
                found[name] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return found["VmRSS"], found["RssAnon"]


def rss_mb(pid: int) -> float:
    return memory_mb(pid)[0]


def children_of(pid: int) -> list[int]:
    """Direct children of `pid` (Postgres backends of the postmaster)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry.name))
    return out


class Processes:
    """The processes whose CPU is reported: the services, Postgres (postmaster and backends), the
    broker, the Stripe simulator and the SMTP sink. Backends that exit between two samples lose their last CPU; the
    services keep their pooled connections, so that is little."""

    def __init__(self, env: Env, services: dict):
        self.env, self.services = env, services

    def pids(self) -> dict[str, list[int]]:
        postmaster = int((Path(self.env.pg_data) / "postmaster.pid").read_text().split()[0])
        groups = {name: [s.proc.pid] for name, s in self.services.items()}
        groups["Postgres"] = [postmaster] + children_of(postmaster)
        groups["broker"] = [broker_pid(self.env)]
        groups["StripeSimulator"] = [int((self.env.dir / "stripe" / "stripe.pid").read_text().strip())]
        groups["SMTPSink"] = [int((self.env.dir / "smtp" / "smtp.pid").read_text().strip())]
        return groups

    def cpu(self) -> dict[str, dict[int, float]]:
        return {name: {pid: proc_cpu_seconds(pid) for pid in pids} for name, pids in self.pids().items()}

    @staticmethod
    def used(before: dict, after: dict) -> dict[str, float]:
        """CPU seconds per group between two samples (processes born in between count fully)."""
        return {name: sum(max(0.0, cpu - before.get(name, {}).get(pid, 0.0)) for pid, cpu in pids.items())
                for name, pids in after.items()}


class MemorySampler(threading.Thread):
    def __init__(self, services: dict, interval: float = 1.0):
        super().__init__(daemon=True)
        self.services, self.interval = services, interval
        self.peak = {name: 0.0 for name in services}
        self.samples: dict[str, list[tuple[float, float]]] = {name: [] for name in services}
        self.anon: dict[str, list[tuple[float, float]]] = {name: [] for name in services}
        self.stop = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        while not self.stop.is_set():
            for name, s in self.services.items():
                rss, anon = memory_mb(s.proc.pid)
                at = time.monotonic() - started
                self.peak[name] = max(self.peak[name], rss)
                self.samples[name].append((at, rss))
                self.anon[name].append((at, anon))
            self.stop.wait(self.interval)

    def growth(self, name: str) -> dict:
        """Peak resident MB in the load's first and last tenth: growth under steady load."""
        samples = self.samples[name]
        if not samples:
            return {}
        end = samples[-1][0]
        first = [r for t, r in samples if t <= end * 0.1] or [samples[0][1]]
        last = [r for t, r in samples if t >= end * 0.9] or [samples[-1][1]]
        # The peak of each tenth of the load: whether it levels off or keeps climbing (None for a
        # tenth without a sample, in a load of under 10 s).
        def tenths(series: list[tuple[float, float]]) -> list[float | None]:
            peaks = (max((r for t, r in series if end * i / 10 <= t <= end * (i + 1) / 10), default=None) for i in range(10))
            return [None if peak is None else round(peak, 1) for peak in peaks]
        return {"firstTenth": round(max(first), 1), "lastTenth": round(max(last), 1),
                "byTenth": tenths(samples), "anonByTenth": tenths(self.anon[name])}


class Scraper(threading.Thread):
    """Scrapes every instance's /metrics every `interval` seconds, as compose's Prometheus does
    (15 s), so that what the gauges cost the services and Postgres is part of what is measured."""

    def __init__(self, urls: dict[str, list[str]], interval: float):
        super().__init__(daemon=True)
        self.urls, self.interval = urls, interval
        self.latencies: dict[str, list[float]] = {name: [] for name in urls}
        self.failures: dict[str, int] = {name: 0 for name in urls}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            for name, urls in self.urls.items():
                for url in urls:
                    started = time.monotonic()
                    try:
                        with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
                            response.read()
                        self.latencies[name].append((time.monotonic() - started) * 1000)
                    except (OSError, ValueError):
                        self.failures[name] += 1

    def report(self) -> dict:
        return {"intervalSeconds": self.interval,
                "latencyMs": {name: {k: round(v, 1) for k, v in percentiles(values).items()} | {"count": len(values)}
                              for name, values in self.latencies.items() if values},
                "failures": {name: n for name, n in self.failures.items() if n}}


def cores_over(processes: "Processes", seconds: float) -> dict[str, float]:
    """Each process's CPU use over the next `seconds`, in cores."""
    before = processes.cpu()
    time.sleep(seconds)
    return {k: v / seconds for k, v in Processes.used(before, processes.cpu()).items()}


def settle(processes: "Processes", idle: dict[str, float], timeout: float = 120.0, margin: float = 0.05,
           sample: float = 2.0) -> bool:
    """Waits until every process is back within `margin` cores of its idle rate over a `sample`-s
    window (the consumers caught up, the mail sent); false when that did not happen in `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if all(rate <= idle.get(name, 0.0) + margin for name, rate in cores_over(processes, sample).items()):
            return True
    return False
