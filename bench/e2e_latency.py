#!/usr/bin/python3
"""End-to-end latency: send over REST (through nginx) -> Kafka -> pusher ->
the other user's WebSocket. Prints p50/p90/p99/max over N messages.

  bench/e2e_latency.py [--url http://127.0.0.1:8080] [--messages 1000] [--rate 50]

Runs against a live stack (`make run`). Sends are open-loop at --rate per
second, so a slow reply cannot hide queueing delay."""
import argparse
import asyncio
import json
import secrets
import statistics
import sys
import time
from pathlib import Path

import requests
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
from parley_client import Api  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def run(args):
    api = Api(args.url)
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)["id"]
    ws_url = args.url.replace("http", "ws", 1) + "/api/v1/ws"
    sent_at, got_at = {}, {}
    session = requests.Session()
    session.headers.update(alice.auth)
    loop = asyncio.get_running_loop()

    async with websockets.connect(ws_url, max_size=2**20) as ws:
        await ws.send(json.dumps({"type": "auth", "access_token": bob.access}))
        assert json.loads(await ws.recv())["type"] == "ready"

        async def receive():
            while len(got_at) < args.messages:
                f = json.loads(await ws.recv())
                if f.get("type") == "message.created":
                    got_at[f["message"]["client_msg_id"]] = time.perf_counter()

        def send(i):
            cmid = f"b{i}-{secrets.token_hex(3)}"
            sent_at[cmid] = time.perf_counter()
            r = session.post(f"{args.url}/api/v1/conversations/{conv}/messages",
                             json={"client_msg_id": cmid, "text": f"bench {i}"}, timeout=30)
            r.raise_for_status()

        rx = asyncio.ensure_future(receive())
        t0 = time.perf_counter()
        for i in range(args.messages):
            delay = t0 + i / args.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await loop.run_in_executor(None, send, i)
        await asyncio.wait_for(rx, 30)
        elapsed = time.perf_counter() - t0

    lat = [(got_at[k] - sent_at[k]) * 1000 for k in sent_at if k in got_at]
    print(f"messages={len(lat)} lost={args.messages - len(lat)} rate={args.rate}/s "
          f"elapsed={elapsed:.1f}s")
    print(f"send->delivery ms: p50={pct(lat, 50):.1f} p90={pct(lat, 90):.1f} "
          f"p99={pct(lat, 99):.1f} max={max(lat):.1f} mean={statistics.mean(lat):.1f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=50.0)
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
