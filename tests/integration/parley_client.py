"""A small Parley client for tests: REST through nginx and the WebSocket."""
import asyncio
import json
import secrets
import time

import requests
import websockets


class User:
    def __init__(self, api, username, password, data):
        self.api = api
        self.username = username
        self.password = password
        self.id = data["user"]["id"]
        self.access = data["access_token"]
        self.refresh = data["refresh_token"]

    @property
    def auth(self):
        return {"Authorization": f"Bearer {self.access}"}

    def get(self, path, **kw):
        return requests.get(self.api.url + path, headers=self.auth, timeout=15, **kw)

    def post(self, path, body=None, **kw):
        return requests.post(self.api.url + path, json=body, headers=self.auth,
                             timeout=15, **kw)

    def direct_with(self, other):
        r = self.post("/api/v1/conversations", {"kind": "direct", "member_ids": [other.id]})
        assert r.status_code in (200, 201), r.text
        return r.json()["conversation"]

    def send(self, conv_id, text, client_msg_id=None):
        cmid = client_msg_id or secrets.token_hex(8)
        r = self.post(f"/api/v1/conversations/{conv_id}/messages",
                      {"client_msg_id": cmid, "text": text})
        assert r.status_code == 202, r.text
        return r.json()

    def history(self, conv_id, patience=60, **params):
        """One page; retries 503 not_caught_up as a client should."""
        end = time.monotonic() + patience
        while True:
            r = self.get(f"/api/v1/conversations/{conv_id}/messages", params=params)
            if r.status_code != 503 or time.monotonic() > end:
                break
            time.sleep(0.2)
        assert r.status_code == 200, r.text
        return r.json()

    def all_messages(self, conv_id, min_position=None):
        """Every message, paging backwards from the newest."""
        out, before = [], None
        while True:
            params = {"limit": 200}
            if before:
                params["before"] = before
            if min_position:
                params["min_position"] = min_position
            page = self.history(conv_id, **params)
            out = page["messages"] + out
            if not page["has_more"]:
                return out
            before = page["messages"][0]["position"]


class Api:
    def __init__(self, url):
        self.url = url

    def register(self, username=None, password=None, display_name=None):
        username = username or "u" + secrets.token_hex(5)
        password = password or "pw-" + secrets.token_hex(8)
        r = requests.post(self.url + "/api/v1/auth/register", timeout=30, json={
            "username": username, "password": password,
            "display_name": display_name or username.title()})
        assert r.status_code == 201, r.text
        return username, password

    def login(self, username, password):
        r = requests.post(self.url + "/api/v1/auth/login", timeout=30,
                          json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return r.json()

    def user(self, **kw):
        username, password = self.register(**kw)
        return User(self, username, password, self.login(username, password))


class Socket:
    """One authenticated WebSocket; collects frames in the background."""

    def __init__(self, url, token, origin=None, resume=None):
        self.url = url
        self.token = token
        self.origin = origin
        self.resume = resume  # {conversation_id: last position seen}
        self.frames = []
        self.ws = None

    async def __aenter__(self):
        headers = {"Origin": self.origin} if self.origin else None
        self.ws = await websockets.connect(self.url, extra_headers=headers,
                                           open_timeout=10, max_size=2**20)
        auth = {"type": "auth", "access_token": self.token}
        if self.resume:
            auth["resume"] = self.resume
        await self.ws.send(json.dumps(auth))
        ready = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
        assert ready["type"] == "ready", ready
        self.ready = ready
        self.task = asyncio.ensure_future(self._pump())
        return self

    async def _pump(self):
        try:
            async for raw in self.ws:
                f = json.loads(raw)
                f["_t"] = time.monotonic()
                self.frames.append(f)
        except websockets.ConnectionClosed:
            pass

    async def wait_for(self, pred, timeout=15):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            hits = [f for f in self.frames if pred(f)]
            if hits:
                return hits
            await asyncio.sleep(0.02)
        raise AssertionError(f"no matching frame in {timeout}s; got {self.frames[-5:]}")

    async def __aexit__(self, *exc):
        self.task.cancel()
        await self.ws.close()


def ws_url(http_url, port=None):
    if port:
        return f"ws://127.0.0.1:{port}/api/v1/ws"
    return http_url.replace("http://", "ws://") + "/api/v1/ws"


def pos_key(pos):
    """(partition, offset) of a position, for ordering within a conversation."""
    p, o = pos[1:].split(".o")
    return int(p), int(o)


def event_frames(frames, conv_id):
    """Frames of conv_id's log events (those that carry a position)."""
    return [f for f in frames if f.get("conversation_id") == conv_id and "position" in f
            and not f["type"].startswith("resume.")]


def message_frames(frames, conv_id):
    return [f for f in frames
            if f.get("type") == "message.created" and f.get("conversation_id") == conv_id]
