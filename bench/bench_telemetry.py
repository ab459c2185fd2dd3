"""Telemetry catch-up and live overhead against a real influxd 1.6.7 (Debian's influxdb).

Catch-up: one hour of 100 devices at 1 Hz (360,000 samples) from the journal into influxd
through our writer (journal read, line protocol, HTTP, cursor), against a raw baseline that
POSTs the same pre-built line protocol in the same batches to another database of the same
server, in the same run. Each is timed twice, in the order raw, ours, ours, raw (a fresh
database each time), so neither gains from going first or last (influxd compacts what it was
sent in the background). Target (issue 9): ratio ours/raw >= 0.5.
Live overhead: process CPU of the writer delivering 100 samples each poll (100 samples/s at
the default 1 s poll), as a fraction of one core.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "journal"))
from jnl_servers import INFLUXD_CONF, Influxd, free_port

from kilnctl.journal import Journal
from kilnctl.telemetry import TelemetryWriter, make_sink, to_line

DEVICES = 100
SECONDS = 3600
BATCH = 5000
LIVE_POLLS = 60


def fill(journal: Journal, t0: float, seconds: range) -> str:
    run = journal.start_run(
        job_name="bench", lot_id="LOT-B", recipe_hashes={}, started_at=t0, meta={}
    )
    for s in seconds:
        for d in range(DEVICES):
            journal.record_sample(
                run, s, t0 + s, f"kiln{d}", {"pv_c": 790.0 + d / 10, "sp_c": 790.0, "out_pct": 48.0}
            )
        if s % 60 == 59:
            journal.checkpoint(run, t0 + s, {})
    return run


def post(url: str, body: bytes) -> None:
    request = urllib.request.Request(url, data=body, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()


def main() -> int:
    binary = shutil.which("influxd")
    if binary is None:
        print("skipped: influxd is not installed (apt-get install influxdb)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        port = free_port()
        conf = root / "influxd.conf"
        conf.write_text(
            INFLUXD_CONF.format(root=root, rpc_port=free_port(), http_port=port, auth="false")
        )
        server = Influxd(
            [binary, "run", "-config", str(conf)], f"http://127.0.0.1:{port}", root / "log"
        )
        server.start()
        try:
            server.create_database("live")
            t0 = time.time() - 2 * SECONDS
            with Journal(root / "j.sqlite") as journal:
                started = time.perf_counter()
                fill(journal, t0, range(SECONDS))
                took = time.perf_counter() - started
                print(f"journal: {DEVICES * SECONDS:,} samples written in {took:.1f} s")
                # the raw baseline: the same batches, line protocol built before timing
                cursor = journal.load_cursor("raw")
                bodies = []
                while records := journal.outbox(cursor, BATCH):
                    bodies.append("\n".join(to_line(r) for r in records).encode())
                    cursor = cursor.after(records)
                raw_s = ours_s = ours_cpu = 0.0
                for i, kind in enumerate(("raw", "ours", "ours", "raw")):
                    database = f"{kind}{i}"
                    server.create_database(database)
                    if kind == "raw":
                        raw_url = f"{server.url}/write?" + urllib.parse.urlencode(
                            {"db": database, "precision": "ns"}
                        )
                        started = time.perf_counter()
                        for body in bodies:
                            post(raw_url, body)
                        raw_s += time.perf_counter() - started
                        continue
                    writer = TelemetryWriter(
                        journal,
                        make_sink(server.url, api="v1", database=database, timeout_s=60),
                        batch_size=BATCH,
                        consumer=database,
                    )
                    started, cpu_started = time.perf_counter(), time.process_time()
                    n = writer.drain()
                    ours_s += time.perf_counter() - started
                    ours_cpu += time.process_time() - cpu_started
                    assert n == DEVICES * SECONDS, n
            raw_rate, ours_rate = 2 * n / raw_s, 2 * n / ours_s
            print(
                f"catch-up: ours {ours_rate:,.0f} points/s, raw POST {raw_rate:,.0f} points/s: "
                f"ratio {ours_rate / raw_rate:.2f} (target >= 0.5); writer process CPU "
                f"{ours_cpu / (2 * n) * 1e6:.1f} us a record"
            )
            # live: 100 samples per poll; only the writer's work is timed (process CPU)
            with Journal(root / "live.sqlite") as journal:
                writer = TelemetryWriter(
                    journal, make_sink(server.url, api="v1", database="live"), consumer="live"
                )
                cpu = 0.0
                t_live = time.time() - LIVE_POLLS
                run = fill(journal, t_live, range(0))
                for s in range(LIVE_POLLS):
                    for d in range(DEVICES):
                        journal.record_sample(
                            run, s, t_live + s, f"kiln{d}", {"pv_c": 790.0, "sp_c": 790.0}
                        )
                    journal.checkpoint(run, t_live + s, {})
                    started = time.process_time()
                    writer.write_batch()
                    cpu += time.process_time() - started
            per_poll = cpu / LIVE_POLLS
            print(
                f"live: {per_poll * 1000:.1f} ms CPU per 100-sample poll = "
                f"{per_poll:.3f} of one core at 100 samples/s"
            )
        finally:
            server.stop()
    return 0 if ours_rate / raw_rate >= 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
