#!/usr/bin/python3
"""Archived vs hot history reads: p50/p99 of 50-message pages served from
history snapshots (the cold tier) and from Postgres rows (the hot tier),
through nginx, plus storage bytes per message in each tier.

  bench/archive_read.py [--messages 1500] [--pages 500]

Starts its own stack (like the integration tests: free ports, a throwaway
data dir under /tmp) from PARLEY_BUILD_DIR (default build/; a release
build gives the meaningful figures), writes two conversations of
--messages each, tiers one of them completely (per-conversation policy
hot_seconds=0) and keeps the other hot, then reads random 50-message
pages (before= a random position) from each, one request at a time."""
import argparse
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "infra" / "local"))
sys.path.insert(0, str(REPO / "tests" / "integration"))
import parley_stack as ps  # noqa: E402
from parley_client import Api  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def start_stack():
    data = Path(tempfile.mkdtemp(prefix="parley-bench-", dir="/tmp"))
    os.chmod(data, 0o755)
    ports = set()
    while len(ports) < 4 + len(ps.SERVICES):
        ports.add(ps.free_port())
    http, pg, kafka, ctrl, *svc = list(ports)
    os.environ.update(PARLEY_RATE_PER_S="100000", PARLEY_RATE_BURST="100000",
                      PARLEY_ARCHIVE_SEGMENT_MS="1000", PARLEY_RETENTION_INTERVAL_MS="1000")
    cfg = ps.Config.from_env(data_dir=data / "data", http_port=http, pg_port=pg,
                             kafka_port=kafka, kafka_controller_port=ctrl, echo=False,
                             service_ports=dict(zip(ps.SERVICES, svc)), ready_timeout=90)
    stack = ps.Stack(cfg)
    stack.start_all()
    if not stack.all_ready():
        stack.stop_all()
        raise SystemExit(f"stack not ready: {stack.not_ready()}")
    return stack, data


def fill(user, conv_id, n):
    s = requests.Session()
    s.headers.update(user.auth)
    url = f"{user.api.url}/api/v1/conversations/{conv_id}/messages"

    def send(i):
        words = " ".join(secrets.token_hex(3) for _ in range(random.randint(3, 25)))
        r = s.post(url, json={"client_msg_id": f"b{i}", "text": f"message {i} {words}"},
                   timeout=30)
        r.raise_for_status()
        return r.json()["position"]

    with ThreadPoolExecutor(8) as ex:
        positions = list(ex.map(send, range(n)))
    # Concurrent sends land in any order; pages need the offset order.
    return sorted(positions, key=lambda p: int(p.split(".o")[1]))


def wait_conv(user, conv_id):
    end = time.monotonic() + 30
    while user.get(f"/api/v1/conversations/{conv_id}").status_code == 404:
        assert time.monotonic() < end
        time.sleep(0.1)


def pages(user, conv_id, positions, count):
    s = requests.Session()
    s.headers.update(user.auth)
    url = f"{user.api.url}/api/v1/conversations/{conv_id}/messages"
    lat = []
    for _ in range(count):
        before = random.choice(positions[50:])
        t = time.perf_counter()
        r = s.get(url, params={"before": before, "limit": 50}, timeout=30)
        lat.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200 and len(r.json()["messages"]) == 50, r.text[:300]
    return lat


def sql(stack, q):
    return stack.postgres.psql(q, db="parley").strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=1500)
    ap.add_argument("--pages", type=int, default=500)
    args = ap.parse_args()
    stack, data = start_stack()
    try:
        api = Api(stack.config.public_url)
        alice, bob = api.user(), api.user()
        cold = alice.direct_with(bob)["id"]
        carol = api.user()
        hot = alice.direct_with(carol)["id"]
        wait_conv(alice, cold)
        wait_conv(alice, hot)
        t = time.perf_counter()
        cold_pos = fill(alice, cold, args.messages)
        hot_pos = fill(alice, hot, args.messages)
        print(f"wrote {2 * args.messages} messages in {time.perf_counter() - t:.1f} s")
        alice.history(hot, min_position=hot_pos[-1], limit=1)
        alice.history(cold, min_position=cold_pos[-1], limit=1)
        env = dict(os.environ, PARLEY_PG_DSN=stack.config.pg_dsn)
        subprocess.run([str(stack.config.build_dir / "cmd/archiver/parley-archiver"),
                        "policy", cold, "--hot-seconds", "0", "--by", "bench",
                        "--reason", "bench"], env=env, check=True, capture_output=True)
        t = time.perf_counter()
        while int(sql(stack, f"SELECT count(*) FROM history.messages "
                             f"WHERE conversation_id = '{cold}'")) > 0:
            assert time.perf_counter() - t < 120, "tiering did not finish"
            time.sleep(0.5)
        print(f"tiered {args.messages} messages in {time.perf_counter() - t:.1f} s "
              "(including waiting for the archiver to seal their segments)")
        for name, conv, pos in (("hot", hot, hot_pos), ("archived", cold, cold_pos)):
            pages(alice, conv, pos, 50)  # warm up
            lat = pages(alice, conv, pos, args.pages)
            print(f"{name:9s} 50-message page: p50 {statistics.median(lat):6.2f} ms  "
                  f"p99 {pct(lat, 99):6.2f} ms  max {max(lat):6.2f} ms  (n={len(lat)})")
        snap = sql(stack, "SELECT sum(bytes), sum(raw_bytes), sum(message_count), count(*)"
                          f" FROM archive.snapshots WHERE conversation_id = '{cold}'").split("|")
        idx = sql(stack, "SELECT pg_total_relation_size('archive.search'),"
                         " (SELECT count(*) FROM archive.search)").split("|")
        hotb = sql(stack, "SELECT pg_total_relation_size('history.messages'),"
                          " (SELECT count(*) FROM history.messages)").split("|")
        n = int(snap[2])
        print(f"archive: {int(snap[0]) / n:.0f} B/message in {snap[3]} snapshots "
              f"(zstd; {int(snap[1]) / n:.0f} B/message uncompressed JSON), plus "
              f"{int(idx[0]) / int(idx[1]):.0f} B/message of search index in Postgres")
        print(f"postgres hot tier: {int(hotb[0]) / int(hotb[1]):.0f} B/message "
              "(history.messages with its indexes and search vector)")
    finally:
        stack.stop_all()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
