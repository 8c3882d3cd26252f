"""Hostile input the other suites did not cover (see the audit in the
report of the revoked-sessions work): expired and forged tokens (alg
swap, a foreign signing key), invalid UTF-8, NUL, 10,000-deep nesting,
wrong types, unknown fields that try to act, absurd limits, overflowing
positions, RTL/zero-width text, 100k combining marks, a WebSocket frame
over the limit and a slowloris crowd. Each gets a clear 4xx with a JSON
error (or, for text that is merely odd, is stored byte for byte), and the
service keeps serving."""
import asyncio
import base64
import hashlib
import hmac
import json
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
import websockets

import parley_stack as ps
from parley_client import ws_url


def _b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _json_error(r, status):
    assert r.status_code == status, (r.status_code, r.text[:200])
    err = r.json()["error"]
    assert err["code"] and err["message"]
    return err["code"]


def _get(api, token, path, **params):
    return requests.get(api.url + path, params=params, timeout=15,
                        headers={"Authorization": f"Bearer {token}"})


def _send_raw(api, user, conv, body: bytes):
    return requests.post(f"{api.url}/api/v1/conversations/{conv}/messages", data=body,
                         timeout=15, headers={**user.auth, "Content-Type": "application/json"})


# -- tokens ------------------------------------------------------------------

@pytest.fixture(scope="module")
def extra_auth(stack, tmp_path_factory):
    """Two more auth instances on the same database: one signing 10-second
    tokens with the real key, one signing with a key nobody trusts."""
    keys = tmp_path_factory.mktemp("foreign-keys")
    subprocess.run([str(stack.config.binary("auth")), "keygen", str(keys)], check=True,
                   capture_output=True)
    short_port, foreign_port = ps.free_port(), ps.free_port()
    short = stack.start_service("auth", port=short_port, extra_env={"PARLEY_ACCESS_TTL_S": "10"})
    foreign = stack.start_service("auth", port=foreign_port, extra_env={
        "PARLEY_AUTH_SECRET_KEY_FILE": str(keys / "ed25519.key"),
        "PARLEY_AUTH_PUBLIC_KEY_FILE": str(keys / "ed25519.pub")})
    assert short.ready() and foreign.ready()
    yield {"short": f"http://127.0.0.1:{short_port}",
           "foreign": f"http://127.0.0.1:{foreign_port}"}
    short.stop()
    foreign.stop()


def _login_at(url, user):
    r = requests.post(url + "/api/v1/auth/login", timeout=30,
                      json={"username": user.username, "password": user.password})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def test_expired_token_is_refused(api, extra_auth):
    u = api.user()
    tok = _login_at(extra_auth["short"], u)
    exp = json.loads(base64.urlsafe_b64decode(tok.split(".")[1] + "=="))["exp"]
    assert _get(api, tok, "/api/v1/conversations").status_code == 200
    time.sleep(max(0.0, exp - time.time()) + 1.2)
    for path in ("/api/v1/conversations", "/api/v1/users/me"):
        assert _json_error(_get(api, tok, path), 401) == "unauthenticated"


def test_token_from_a_foreign_key_is_refused(api, extra_auth):
    u = api.user()
    tok = _login_at(extra_auth["foreign"], u)  # well-formed, signed, wrong key
    for path in ("/api/v1/conversations", "/api/v1/users/me"):
        assert _json_error(_get(api, tok, path), 401) == "unauthenticated"


def test_alg_swap_is_refused(api, stack):
    u = api.user()
    _, payload, _ = u.access.split(".")
    pub = base64.b64decode(Path(stack.keys.public).read_text().strip())
    forged = []
    for alg in ("none", "None", "HS256", "EdDSA "):
        head = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
        forged.append(f"{head}.{payload}.")
        mac = hmac.new(pub, f"{head}.{payload}".encode(), hashlib.sha256).digest()
        forged.append(f"{head}.{payload}.{_b64(mac)}")  # HMAC keyed with the public key
    for tok in forged:
        assert _json_error(_get(api, tok, "/api/v1/conversations"), 401) == "unauthenticated"
    assert _get(api, u.access, "/api/v1/conversations").status_code == 200


# -- bodies ------------------------------------------------------------------

def test_bad_bodies_get_clear_errors(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)["id"]
    cases = [
        b'{"client_msg_id":"a","text":"\xff\xfe bad utf-8"}',
        # yajl lets these through; Postgres would refuse them after the 202.
        b'{"client_msg_id":"a","text":"surrogate \xed\xa0\x80"}',
        b'{"client_msg_id":"a","text":"overlong \xc0\xaf"}',
        b'{"client_msg_id":"a","text":"beyond \xf4\x90\x80\x80"}',
        b'{"client_msg_id":"a","text":"escaped \\ud800 alone"}',
        b'{"client_msg_id":"a","text":"escaped \\udc00 low"}',
        b'{"client_msg_id":"a","text":"nul \\u0000 inside"}',
        b'{"client_msg_id":"a","text":"raw nul \x00 inside"}',
        b"[" * 10000 + b"]" * 10000,
        b'{"client_msg_id":"a","text":"x","extra":' + b"[" * 10000 + b"]" * 10000 + b"}",
        b'{"client_msg_id":"a","text":42}',
        b'{"client_msg_id":{"a":1},"text":"x"}',
        b'{"client_msg_id":"a","text":["x"]}',
        b'{"client_msg_id":"a","text":null}',
    ]
    for body in cases:
        _json_error(_send_raw(api, alice, conv, body), 400)
    for body in ({"kind": "direct", "member_ids": bob.id}, {"kind": 7, "member_ids": [bob.id]},
                 {"kind": "group", "title": ["t"], "member_ids": [bob.id]}):
        _json_error(alice.post("/api/v1/conversations", body), 400)
    # Still serving, and still projecting: the next message is stored.
    pos = alice.send(conv, "after the garbage")["position"]
    assert alice.history(conv, min_position=pos, limit=1)["messages"][0]["text"] == \
        "after the garbage"


def test_unknown_fields_do_not_act(api):
    """Fields the API does not know are ignored, never obeyed."""
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)["id"]
    r = alice.post(f"/api/v1/conversations/{conv}/messages",
                   {"client_msg_id": "spoof", "text": "who am i", "sender_id": bob.id,
                    "sender": bob.id, "id": "00000000-0000-4000-8000-000000000001",
                    "position": "p0.o0", "created_at": "1970-01-01T00:00:00Z"})
    assert r.status_code == 202, r.text
    ack = r.json()
    assert ack["message_id"] != "00000000-0000-4000-8000-000000000001"
    page = alice.history(conv, min_position=ack["position"])
    m = [m for m in page["messages"] if m["id"] == ack["message_id"]][0]
    assert m["sender_id"] == alice.id and not m["created_at"].startswith("1970")


def test_rtl_zero_width_and_combining_marks(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)["id"]
    odd = "\u202eevil\u202c \u200bzero\u200dwidth\ufeff \u0627\u0644\u0639\u0631\u0628\u064a\u0629 e\u0301"
    ack = alice.send(conv, odd)
    page = alice.history(conv, min_position=ack["position"])
    assert [m["text"] for m in page["messages"] if m["id"] == ack["message_id"]] == [odd]
    # 100k combining marks: far over the 4096 code points a message may have.
    r = alice.post(f"/api/v1/conversations/{conv}/messages",
                   {"client_msg_id": "zalgo", "text": "e" + "\u0301" * 100000})
    assert _json_error(r, 413) == "too_large"
    # In a display name (64 code points) and a search (256), refused too.
    for marks, status in ((1000, 400), (100000, 413)):  # auth takes 16 KiB bodies
        _json_error(requests.patch(api.url + "/api/v1/users/me", headers=alice.auth, timeout=15,
                                   json={"display_name": "e" + "\u0301" * marks}), status)
    r = alice.get("/api/v1/search", params={"q": "e" + "\u0301" * 300})  # URL stays short
    _json_error(r, 400)
    # A username is held to its alphabet: no zero-width or RTL tricks.
    for name in ("ad\u200bmin", "\u202eadmin", "admin\ufeff"):
        r = requests.post(api.url + "/api/v1/auth/register", timeout=15, json={
            "username": name, "password": "long-enough-pw", "display_name": "X"})
        _json_error(r, 400)


# -- query strings -----------------------------------------------------------

ABSURD_LIMITS = ["-1", "0", "-9223372036854775808", "99999999999999999999", "1e3", "0x10",
                 " 5", "5 ", "+5", "abc", ""]
BAD_POSITIONS = ["p99999999999.o1", "p0.o9223372036854775808", "p0.o99999999999999999999",
                 "p-1.o0", "p0.o-1", "p00.o1", "p0.o01", "p0o1", "p0.o1x", "P0.O1"]


def test_absurd_limits_and_overflowing_positions(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)["id"]
    msgs = f"/api/v1/conversations/{conv}/messages"
    for lim in ABSURD_LIMITS:
        if lim == "":
            continue  # an empty limit means the default
        for path, extra in ((msgs, {}), ("/api/v1/search", {"q": "x"}),
                            ("/api/v1/users", {"query": "ab"}),
                            ("/api/v1/conversations/public", {})):
            r = alice.get(path, params={"limit": lim, **extra})
            _json_error(r, 400)
    for pos in BAD_POSITIONS:
        for name in ("before", "after", "min_position"):
            _json_error(alice.get(msgs, params={name: pos}), 400)
    # The largest well-formed position is not an error in the parser; the
    # wait says it is out of range rather than waiting for it.
    r = alice.get(msgs, params={"min_position": "p2147483647.o9223372036854775807"})
    _json_error(r, 400)
    assert alice.get(msgs, params={"limit": "200"}).status_code == 200


# -- transport ---------------------------------------------------------------

def test_websocket_frame_over_the_limit_closes_only_that_socket(api, base_url):
    u = api.user()

    async def go():
        async with websockets.connect(ws_url(base_url), max_size=2**20) as ws:
            await ws.send(json.dumps({"type": "auth", "access_token": u.access}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "ready"
            await ws.send(json.dumps({"type": "ping", "pad": "x" * (256 << 10)}))
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed:
                pass
            return ws.close_code
    code = asyncio.run(go())
    assert code == 1009, code

    async def again():
        async with websockets.connect(ws_url(base_url)) as ws:
            await ws.send(json.dumps({"type": "auth", "access_token": u.access}))
            return json.loads(await asyncio.wait_for(ws.recv(), 10))["type"]
    assert asyncio.run(again()) == "ready"


def test_slowloris_does_not_starve_other_clients(api, stack):
    """200 connections straight to the read API (no nginx to absorb them)
    that trickle a header byte at a time; a normal client is served
    meanwhile."""
    u = api.user()
    port = stack.config.service_port("read")
    slow = []
    try:
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /api/v1/conversations HTTP/1.1\r\nHost: x\r\n")
            slow.append(s)
        worst = 0.0
        for _ in range(5):
            for s in slow:
                try:
                    s.sendall(b"X-a: b\r\n")
                except OSError:
                    pass
            t0 = time.monotonic()
            r = requests.get(f"http://127.0.0.1:{port}/api/v1/conversations",
                             headers=u.auth, timeout=10)
            worst = max(worst, time.monotonic() - t0)
            assert r.status_code == 200, r.text
            time.sleep(0.5)
        print(f"slowloris: 200 slow connections, worst normal request {worst * 1000:.0f} ms")
    finally:
        for s in slow:
            s.close()
