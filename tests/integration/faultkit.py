"""Counting helpers the fault tests share (test_resilience.py,
test_netfaults.py): a client that retries as a real one does, WebSocket
receivers, and the lost/duplicate tally with its figures printed and
appended to .parley/resilience.json."""
import asyncio
import json
import threading
import time
from pathlib import Path

import requests

from parley_client import Socket, message_frames, ws_url

RESULTS = Path(__file__).resolve().parents[2] / ".parley" / "resilience.json"


def record(result):
    """Prints a scenario's counts and appends them to RESULTS."""
    print(json.dumps(result))
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as f:
        f.write(json.dumps(result) + "\n")
RETRY = (429, 500, 502, 503, 504)


class RetryingSender:
    """Sends texts in order; each one retried until acknowledged, with the
    same client_msg_id, after a 5xx, a 429 or a connection error."""

    def __init__(self, user, conv_id, prefix, count, rate=20.0):
        self.user, self.conv, self.prefix, self.count = user, conv_id, prefix, count
        self.interval = 1.0 / rate
        self.acked = []
        self.ack_times = []  # monotonic time of each acknowledgement
        self.retries = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _send(self, i):
        body = {"client_msg_id": f"{self.prefix}-{i}", "text": f"{self.prefix} {i}"}
        url = f"{self.user.api.url}/api/v1/conversations/{self.conv}/messages"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                r = requests.post(url, json=body, headers=self.user.auth, timeout=45)
                if r.status_code == 202:
                    return r.json()
                if r.status_code not in RETRY:
                    raise AssertionError(f"{r.status_code} {r.text}")
            except requests.RequestException:
                pass
            self.retries += 1
            time.sleep(0.3)
        raise AssertionError(f"send {i} never acknowledged")

    def _run(self):
        for i in range(self.count):
            self.acked.append(self._send(i))
            self.ack_times.append(time.monotonic())
            time.sleep(self.interval)

    def join(self, timeout=300):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "sender stuck"
        assert len(self.acked) == self.count

    def first_ack_after(self, t):
        """Seconds from t to the first acknowledgement at or after it."""
        later = [a for a in self.ack_times if a >= t]
        return later[0] - t if later else None


class Receivers:
    """One WebSocket per user on its own event-loop thread, collecting
    message.created frames of one conversation."""

    def __init__(self, base_url, users, conv_id):
        self.url, self.users, self.conv = ws_url(base_url), users, conv_id
        self.sockets = {}
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self, timeout=30):
        self.thread.start()
        assert self.ready.wait(timeout), "receivers did not connect"
        assert self.error is None, self.error
        return self

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self):
        try:
            for u in self.users:
                self.sockets[u.id] = await Socket(self.url, u.access).__aenter__()
        except Exception as e:  # noqa: BLE001 - reported by start()
            self.error = repr(e)
        self.ready.set()
        self._stop = asyncio.Event()
        await self._stop.wait()
        for s in self.sockets.values():
            await s.__aexit__(None, None, None)

    def texts(self, user):
        return [f["message"]["text"] for f in message_frames(self.sockets[user.id].frames,
                                                            self.conv)]

    def closed(self):
        """Users whose socket the server closed (a receiver would reconnect)."""
        return [u.username for u in self.users if self.sockets[u.id].ws.closed]

    def wait_all(self, want, timeout=60):
        """Until every user has every text in want, or timeout."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if all(set(want) <= set(self.texts(u)) for u in self.users):
                return True
            time.sleep(0.2)
        return False

    def stop(self):
        self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(15)


def history(user, conv, min_position, patience=180):
    """All messages, retrying while the read side recovers."""
    end = time.monotonic() + patience
    while True:
        try:
            return user.all_messages(conv, min_position=min_position)
        except (AssertionError, requests.RequestException):
            if time.monotonic() > end:
                raise
            time.sleep(1)


def check(name, user, conv, sender, recovery_s, receivers=None, extra=None):
    """Stored (and, with receivers, delivered) against what was acknowledged:
    prints the figures, records them, and fails on any loss or duplicate."""
    last = max(sender.acked, key=lambda a: int(a["position"].split(".o")[1]))["position"]
    msgs = history(user, conv, last)
    texts = [m["text"] for m in msgs]
    want = [f"{sender.prefix} {i}" for i in range(sender.count)]
    lost = len([t for t in want if t not in texts])
    dups = len(texts) - len(set(texts))
    result = {"scenario": name, "sent": sender.count, "acknowledged": len(sender.acked),
              "stored": len(set(texts) & set(want)), "lost": lost, "duplicates": dups,
              "in_order": texts == want, "client_retries": sender.retries,
              "recovery_s": round(recovery_s, 2)}
    if receivers is not None:
        receivers.wait_all(want)
        got = {u.username: receivers.texts(u) for u in receivers.users}
        result["delivered"] = {n: len(set(t) & set(want)) for n, t in got.items()}
        result["delivered_lost"] = sum(len(set(want) - set(t)) for t in got.values())
        result["delivered_duplicates"] = sum(len(t) - len(set(t)) for t in got.values())
        result["sockets_closed"] = receivers.closed()
    result.update(extra or {})
    record(result)
    assert (lost, dups) == (0, 0), result
    assert texts == want, result
    assert len({m["id"] for m in msgs}) == sender.count
    if receivers is not None:
        assert (result["delivered_lost"], result["delivered_duplicates"]) == (0, 0), result
    return result
