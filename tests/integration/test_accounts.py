"""Accounts and sessions: profiles, user search, password change, the
session list and revocation (which closes that session's sockets within a
second), and the login/register rate limits."""
import asyncio
import json
import secrets
import time

import pytest
import requests
import websockets

from parley_client import ws_url


def _patch(user, body):
    return requests.patch(user.api.url + "/api/v1/users/me", json=body, headers=user.auth,
                          timeout=15)


def _login(api, user, ua="test-agent"):
    r = requests.post(api.url + "/api/v1/auth/login", timeout=30,
                      headers={"User-Agent": ua},
                      json={"username": user.username, "password": user.password})
    assert r.status_code == 200, r.text
    return r.json()


def _refresh(api, token):
    return requests.post(api.url + "/api/v1/auth/refresh", timeout=15,
                         json={"refresh_token": token})


def test_profile_get_and_patch(api):
    u = api.user()
    me = u.get("/api/v1/users/me").json()["user"]
    assert me["id"] == u.id and me["username"] == u.username
    assert me["bio"] == "" and me["avatar_id"] is None
    assert me["presence"]["status"] in ("online", "offline")
    avatar = "6f1f2e3d-4c5b-4a69-8877-665544332211"
    r = _patch(u, {"display_name": "  Zoë Ünïcode ", "bio": "ж" * 500, "avatar_id": avatar})
    assert r.status_code == 200, r.text
    got = r.json()["user"]
    assert got["display_name"] == "Zoë Ünïcode"  # trimmed
    assert got["bio"] == "ж" * 500 and got["avatar_id"] == avatar
    other = api.user()
    seen = other.get(f"/api/v1/users/{u.id}").json()["user"]
    assert seen["display_name"] == "Zoë Ünïcode" and seen["bio"] == "ж" * 500
    assert "presence" in seen and "last_seen" in seen["presence"]
    # Only the fields sent change; null clears the avatar.
    r = _patch(u, {"avatar_id": None})
    assert r.status_code == 200 and r.json()["user"]["avatar_id"] is None
    assert r.json()["user"]["bio"] == "ж" * 500


@pytest.mark.parametrize("body", [
    {"bio": "x" * 501},
    {"bio": 5},
    {"display_name": ""},
    {"display_name": "a\u0007b"},
    {"display_name": "y" * 65},
    {"avatar_id": "not-a-uuid"},
    {"avatar_id": 12},
])
def test_profile_patch_validation(api, body):
    u = api.user()
    r = _patch(u, body)
    assert r.status_code == 400, (body, r.text)
    assert r.json()["error"]["code"] == "bad_request"
    assert u.get("/api/v1/users/me").json()["user"]["bio"] == ""


def test_user_get_unknown_is_404(api):
    u = api.user()
    assert u.get("/api/v1/users/00000000-0000-4000-8000-000000000000").status_code == 404
    assert u.get("/api/v1/users/nope").status_code == 404


def test_search_by_display_name_prefix(api):
    tag = secrets.token_hex(3)
    u = api.user(display_name=f"Ärger Ölmann {tag}")
    searcher = api.user()
    for q in ("ärger ölmann " + tag, "ÄRGER ÖLM", "ärg"):
        r = searcher.get("/api/v1/users", params={"query": q, "limit": 50})
        assert r.status_code == 200, r.text
        if q.endswith(tag):
            assert [x["id"] for x in r.json()["users"]] == [u.id]
        else:
            assert u.id in [x["id"] for x in r.json()["users"]] or len(r.json()["users"]) == 50
    # Username prefixes still work, and LIKE metacharacters are literal.
    r = searcher.get("/api/v1/users", params={"query": u.username[:6].upper()})
    assert u.id in [x["id"] for x in r.json()["users"]]
    r = searcher.get("/api/v1/users", params={"query": "%"})
    assert r.status_code == 200 and all("%" in x["display_name"] for x in r.json()["users"])
    assert searcher.get("/api/v1/users", params={"query": ""}).status_code == 400


async def _closed_after(url, token, trigger, timeout=5.0):
    """Opens a socket with token, runs trigger(), then returns (frames,
    close code, seconds from trigger to close)."""
    async with websockets.connect(url, open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "auth", "access_token": token}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "ready"
        await asyncio.sleep(0.3)
        t0 = time.monotonic()
        await asyncio.get_running_loop().run_in_executor(None, trigger)
        frames = []
        try:
            while True:
                frames.append(json.loads(await asyncio.wait_for(ws.recv(), timeout)))
        except websockets.ConnectionClosed:
            pass
        return frames, ws.close_code, time.monotonic() - t0


def test_password_change_ends_other_sessions(api, base_url):
    u = api.user()                       # session A (u.access)
    b = _login(api, u)                   # session B
    new_pw = "new-" + secrets.token_hex(8)

    def change():
        r = u.post("/api/v1/auth/password",
                   {"current_password": u.password, "new_password": new_pw})
        assert r.status_code == 204, r.text

    frames, code, took = asyncio.run(_closed_after(ws_url(base_url), b["access_token"], change))
    assert code == 4401
    assert {"type": "session.revoked", "session_id": frames[-1]["session_id"]} == frames[-1]
    assert took < 1.5, f"socket closed {took:.2f}s after the change"  # 1 s + HTTP time
    assert _refresh(api, b["refresh_token"]).status_code == 401
    assert _refresh(api, u.refresh).status_code == 200  # the caller's session lives
    r = requests.post(api.url + "/api/v1/auth/login", timeout=30,
                      json={"username": u.username, "password": u.password})
    assert r.status_code == 401
    u.password = new_pw
    _login(api, u)


def test_password_change_validation(api):
    u = api.user()
    r = u.post("/api/v1/auth/password", {"current_password": "wrong-password",
                                         "new_password": "whatever-123"})
    assert r.status_code == 403
    r = u.post("/api/v1/auth/password", {"current_password": u.password,
                                         "new_password": "short"})
    assert r.status_code == 400
    assert u.post("/api/v1/auth/password", {"new_password": "x" * 10}).status_code == 400


def test_sessions_list_and_revoke(api, base_url):
    u = api.user()
    other = _login(api, u, ua="Other-Device/1.0")
    r = u.get("/api/v1/auth/sessions")
    assert r.status_code == 200, r.text
    sessions = r.json()["sessions"]
    assert len(sessions) == 2
    assert sum(s["current"] for s in sessions) == 1
    victim = next(s for s in sessions if not s["current"])
    assert victim["user_agent"] == "Other-Device/1.0"
    assert {"id", "user_agent", "created_at", "last_used_at", "current"} <= set(victim)

    # Someone else's session is 404, like a missing one.
    stranger = api.user()
    h = {"Authorization": f"Bearer {stranger.access}"}
    assert requests.delete(f"{api.url}/api/v1/auth/sessions/{victim['id']}", headers=h,
                           timeout=15).status_code == 404

    def revoke():
        r = requests.delete(f"{api.url}/api/v1/auth/sessions/{victim['id']}",
                            headers=u.auth, timeout=15)
        assert r.status_code == 204, r.text

    frames, code, took = asyncio.run(
        _closed_after(ws_url(base_url), other["access_token"], revoke))
    assert code == 4401 and frames[-1] == {"type": "session.revoked",
                                           "session_id": victim["id"]}
    assert took < 1.5, f"socket closed {took:.2f}s after the revocation"
    assert _refresh(api, other["refresh_token"]).status_code == 401
    assert [s["id"] for s in u.get("/api/v1/auth/sessions").json()["sessions"]] != [
        victim["id"]]
    assert len(u.get("/api/v1/auth/sessions").json()["sessions"]) == 1

    # Its still-valid access token cannot open a new socket either.
    async def reopen():
        async with websockets.connect(ws_url(base_url), open_timeout=10) as ws:
            await ws.send(json.dumps({"type": "auth", "access_token": other["access_token"]}))
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed:
                pass
            return ws.close_code
    assert asyncio.run(reopen()) == 4401


def test_logout_closes_that_sessions_socket(api, base_url):
    u = api.user()

    def logout():
        assert u.post("/api/v1/auth/logout").status_code == 204

    _, code, took = asyncio.run(_closed_after(ws_url(base_url), u.access, logout))
    assert code == 4401 and took < 1.5


# -- rate limits, on an auth instance of our own with tight budgets ---------

@pytest.fixture(scope="module")
def strict_auth(stack):
    import parley_stack
    port = parley_stack.free_port()
    h = stack.start_service("auth", port=port, wait=True, extra_env={
        "PARLEY_LOGIN_RATE_ACCOUNT_PER_MIN": "2", "PARLEY_LOGIN_RATE_ACCOUNT_BURST": "3",
        "PARLEY_LOGIN_RATE_IP_PER_MIN": "6", "PARLEY_LOGIN_RATE_IP_BURST": "5"})
    assert h.ready()
    yield f"http://127.0.0.1:{port}"
    h.stop()


def _direct_login(url, username, password, ip):
    # Straight from 127.0.0.1, so auth trusts the last X-Forwarded-For hop
    # as nginx would have set it; the earlier hop is client text.
    return requests.post(url + "/api/v1/auth/login", timeout=30, json={
        "username": username, "password": password},
        headers={"X-Forwarded-For": f"10.9.8.7, {ip}"})


def test_login_flood_per_account(api, strict_auth):
    u = api.user()
    codes = []
    for i in range(5):
        r = _direct_login(strict_auth, u.username, "wrong-password",
                          f"192.0.2.{secrets.randbelow(250) + 1}")
        codes.append(r.status_code)
        if r.status_code == 429:
            assert int(r.headers["Retry-After"]) == 30
            assert r.json()["error"]["code"] == "rate_limited"
    assert codes == [401, 401, 401, 429, 429]
    # Even the right password waits: the budget is the account's.
    r = _direct_login(strict_auth, u.username, u.password, "192.0.2.251")
    assert r.status_code == 429
    # Another account is unaffected.
    v = api.user()
    assert _direct_login(strict_auth, v.username, v.password, "192.0.2.252").status_code == 200


def test_login_flood_per_ip(api, strict_auth):
    ip = f"198.51.100.{secrets.randbelow(250) + 1}"
    codes = [_direct_login(strict_auth, f"nobody{i}x", "wrong-password", ip).status_code
             for i in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429], codes
    r = _direct_login(strict_auth, "nobodyy", "wrong-password", ip)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) == 10
    # Register shares the IP budget.
    r = requests.post(strict_auth + "/api/v1/auth/register", timeout=30,
                      headers={"X-Forwarded-For": ip},
                      json={"username": "r" + secrets.token_hex(4), "password": "pw-123456789",
                            "display_name": "R"})
    assert r.status_code == 429
    # A different client address has its own budget.
    assert _direct_login(strict_auth, "nobodyz", "wrong-password",
                         "203.0.113.9").status_code == 401
