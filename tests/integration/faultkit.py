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

from parley_client import Socket, pos_key, ws_url

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
    """One client per user, each holding a WebSocket as a real client does:
    when the server closes it (a killed or draining pusher, a pusher not
    ready yet), it reconnects after a short backoff with resume from the
    last position it saw, and pages REST where the server says resume.gap.
    Collects the conversation's messages across sockets, in arrival order.
    since: a position of the conversation from before the first send, so
    even the first connection resumes and nothing falls between sockets."""

    def __init__(self, base_url, users, conv_id, since):
        self.url, self.users, self.conv = ws_url(base_url), users, conv_id
        self.since = since
        self.got = {u.id: [] for u in users}       # (position, text)
        self.reconnects = {u.id: 0 for u in users}
        self.gaps = {u.id: 0 for u in users}
        self.paged = {u.id: set() for u in users}  # positions read over REST
        self.connected = {u.id: threading.Event() for u in users}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self, timeout=30):
        self.thread.start()
        for u in self.users:
            assert self.connected[u.id].wait(timeout), f"{u.username} did not connect"
        return self

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self._stop = asyncio.Event()
        self.loop.run_until_complete(asyncio.gather(*(self._client(u) for u in self.users)))

    async def _client(self, u):
        last = self.since
        while not self._stop.is_set():
            try:
                async with Socket(self.url, u.access, resume={self.conv: last}) as s:
                    self.connected[u.id].set()
                    seen = 0
                    while not self._stop.is_set() and not s.task.done():
                        frames = s.frames[seen:]
                        seen += len(frames)
                        for f in frames:
                            last = await self._take(u, f, last)
                        await asyncio.sleep(0.05)
                    for f in s.frames[seen:]:
                        last = await self._take(u, f, last)
            except Exception:  # noqa: BLE001 - refused or closed: reconnect
                pass
            if not self._stop.is_set():
                self.reconnects[u.id] += 1
                await asyncio.sleep(0.3)

    async def _take(self, u, f, last):
        """Records one frame of the conversation; returns the newest position."""
        if f.get("conversation_id") != self.conv:
            return last
        got = []
        if f.get("type") == "message.created" and f["position"] not in self.paged[u.id]:
            got = [(f["position"], f["message"]["text"])]
        elif f.get("type") == "resume.gap":
            # A client pages from `from` and merges by position: what it has
            # (or gets again on the socket) is no duplicate of the server's.
            self.gaps[u.id] += 1
            page = await self.loop.run_in_executor(
                None, lambda: u.history(self.conv, after=f["from"], limit=200))
            have = {p for p, _ in self.got[u.id]}
            got = [(m["position"], m["text"]) for m in page["messages"]
                   if m["position"] not in have]
            self.paged[u.id] |= {p for p, _ in got}
        self.got[u.id] += got
        return max([last] + [p for p, _ in got], key=pos_key)

    def texts(self, user):
        return [t for _, t in self.got[user.id]]

    def wait_all(self, want, timeout=120):
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
    msgs = [m for m in history(user, conv, last) if m["text"].startswith(sender.prefix + " ")]
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
        result["delivered_in_order"] = all([x for x in t if x in want] == want
                                           for t in got.values())
        result["reconnects"] = sum(receivers.reconnects.values())
        result["resume_gaps"] = sum(receivers.gaps.values())
    result.update(extra or {})
    record(result)
    assert (lost, dups) == (0, 0), result
    assert texts == want, result
    assert len({m["id"] for m in msgs}) == sender.count
    if receivers is not None:
        assert (result["delivered_lost"], result["delivered_duplicates"]) == (0, 0), result
        assert result["delivered_in_order"], result
    return result
