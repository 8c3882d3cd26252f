"""A revoked session's access token is refused on every REST service, not
only on open sockets: logout, the refresh-token reuse family revoke, a
password change (every other session) and DELETE /auth/sessions/{id} all
publish session.revoked, and auth, command, read and media refuse the
session's tokens with 401 session_revoked within a bounded wait. A service
started after the revocation still knows it (it replays the sessions topic
over the last access-token TTL)."""
import time
import uuid

import requests

WAIT_S = 5.0  # revocation -> 401 on every service


def _probes(api, conv_id):
    """One authenticated request per REST service: (name, method, path, body)."""
    return [
        ("auth", "GET", "/api/v1/users/me", None),
        ("command", "POST", f"/api/v1/conversations/{conv_id}/messages",
         {"client_msg_id": uuid.uuid4().hex, "text": "after revoke"}),
        ("read", "GET", "/api/v1/conversations", None),
        ("media", "GET", f"/api/v1/attachments/{uuid.uuid4()}", None),
    ]


def _call(api, token, method, path, body):
    return requests.request(method, api.url + path, json=body, timeout=15,
                            headers={"Authorization": f"Bearer {token}"})


def _assert_refused_everywhere(api, token, conv_id):
    """Polls each service until it answers 401 session_revoked; fails after
    WAIT_S. Returns the seconds each one took."""
    took = {}
    t0 = time.monotonic()
    for name, method, path, body in _probes(api, conv_id):
        while True:
            r = _call(api, token, method, path, body)
            if r.status_code == 401:
                assert r.json()["error"]["code"] == "session_revoked", (name, r.text)
                took[name] = round(time.monotonic() - t0, 3)
                break
            assert time.monotonic() - t0 < WAIT_S, \
                f"{name} still accepts a revoked session: {r.status_code} {r.text}"
            time.sleep(0.05)
    print("revoked -> 401 after", took)
    return took


def _assert_accepted_everywhere(api, token, conv_id):
    for name, method, path, body in _probes(api, conv_id):
        r = _call(api, token, method, path, body)
        assert r.status_code in (200, 202, 404), (name, r.status_code, r.text)


def _login(api, user):
    return api.login(user.username, user.password)


def _setup(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)["id"]
    return alice, bob, conv


def test_logout_token_refused_on_every_service(api):
    alice, bob, conv = _setup(api)
    _assert_accepted_everywhere(api, alice.access, conv)
    r = requests.post(api.url + "/api/v1/auth/logout", json={}, headers=alice.auth, timeout=15)
    assert r.status_code == 204, r.text
    _assert_refused_everywhere(api, alice.access, conv)
    # Only that session: bob and a new login of alice work.
    _assert_accepted_everywhere(api, bob.access, conv)
    _assert_accepted_everywhere(api, _login(api, alice)["access_token"], conv)


def test_refresh_reuse_revokes_every_token_of_the_family(api):
    alice, _, conv = _setup(api)
    r = requests.post(api.url + "/api/v1/auth/refresh", timeout=15,
                      json={"refresh_token": alice.refresh})
    assert r.status_code == 200, r.text
    rotated = r.json()["access_token"]
    _assert_accepted_everywhere(api, rotated, conv)
    reuse = requests.post(api.url + "/api/v1/auth/refresh", timeout=15,
                          json={"refresh_token": alice.refresh})
    assert reuse.status_code == 401 and reuse.json()["error"]["code"] == "refresh_reused"
    # Both the first access token and the one the rotation issued die.
    _assert_refused_everywhere(api, alice.access, conv)
    _assert_refused_everywhere(api, rotated, conv)


def test_password_change_refuses_every_other_session(api):
    alice, _, conv = _setup(api)
    other = _login(api, alice)["access_token"]
    third = _login(api, alice)["access_token"]
    new_pw = "new-" + uuid.uuid4().hex[:12]
    r = requests.post(api.url + "/api/v1/auth/password", headers=alice.auth, timeout=30,
                      json={"current_password": alice.password, "new_password": new_pw})
    assert r.status_code == 204, r.text
    _assert_refused_everywhere(api, other, conv)
    _assert_refused_everywhere(api, third, conv)
    _assert_accepted_everywhere(api, alice.access, conv)  # the caller's session lives


def test_session_delete_refuses_that_session(api):
    alice, _, conv = _setup(api)
    other = _login(api, alice)
    sessions = alice.get("/api/v1/auth/sessions").json()["sessions"]
    victim = next(s for s in sessions if not s["current"])
    r = requests.delete(f"{api.url}/api/v1/auth/sessions/{victim['id']}",
                        headers=alice.auth, timeout=15)
    assert r.status_code == 204, r.text
    _assert_refused_everywhere(api, other["access_token"], conv)
    _assert_accepted_everywhere(api, alice.access, conv)


def test_restarted_service_still_refuses_a_revoked_session(api, stack):
    """The read API restarts after the revocation: it replays the sessions
    topic from now - access TTL, and /readyz waits until it has."""
    alice, _, conv = _setup(api)
    r = requests.post(api.url + "/api/v1/auth/logout", json={}, headers=alice.auth, timeout=15)
    assert r.status_code == 204, r.text
    _assert_refused_everywhere(api, alice.access, conv)
    h = stack.handle("read")
    old = h.pid
    h.restart()
    assert h.wait_restarted(old, 60) and h.wait_ready(60)
    r = _call(api, alice.access, "GET", "/api/v1/conversations", None)
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_revoked", r.text
