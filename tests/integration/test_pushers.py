"""WebSocket behaviour: authentication, Origin, and several pushers."""
import asyncio
import json

import pytest
import websockets

from parley_client import Socket, ws_url


@pytest.fixture(scope="module")
def second_pusher(stack):
    h = stack.start_service("pusher", port=_free(), wait=True)
    assert h.ready()
    yield h
    h.stop()


def _free():
    import parley_stack
    return parley_stack.free_port()


def test_clients_on_different_pushers_both_receive(api, stack, second_pusher):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    port_a = stack.config.service_port("pusher")

    async def scenario():
        async with Socket(ws_url(None, port_a), alice.access) as a, \
                Socket(ws_url(None, second_pusher.port), bob.access) as b:
            sent = alice.send(conv["id"], "across pushers")
            for s in (a, b):
                await s.wait_for(lambda f: f.get("type") == "message.created"
                                 and f["message"]["id"] == sent["message_id"])
    asyncio.run(scenario())


async def _close_code(url, first_frame, headers=None):
    async with websockets.connect(url, extra_headers=headers, open_timeout=10) as ws:
        if first_frame is not None:
            await ws.send(first_frame)
        try:
            await asyncio.wait_for(ws.recv(), 10)
        except websockets.ConnectionClosed:
            pass
        await asyncio.wait_for(ws.wait_closed(), 10)
        return ws.close_code


def test_bad_token_closes_with_4401(api, base_url):
    url = ws_url(base_url)
    u = api.user()
    for frame in (json.dumps({"type": "auth", "access_token": u.access[:-3] + "abc"}),
                  json.dumps({"type": "auth"}),
                  json.dumps({"type": "ping"}),
                  "not json"):
        assert asyncio.run(_close_code(url, frame)) == 4401, frame


def test_auth_must_arrive_quickly(base_url):
    assert asyncio.run(_close_code(ws_url(base_url), None)) == 4401


def test_foreign_origin_is_refused(api, base_url):
    u = api.user()

    async def attempt():
        async with Socket(ws_url(base_url), u.access, origin="http://evil.example"):
            pass
    with pytest.raises(Exception):
        asyncio.run(attempt())

    async def allowed():
        async with Socket(ws_url(base_url), u.access, origin=base_url) as s:
            await s.ws.send(json.dumps({"type": "ping"}))
            await s.wait_for(lambda f: f.get("type") == "pong")
    asyncio.run(allowed())


def test_pusher_started_after_a_revocation_refuses_that_session(api, stack):
    """A pusher learns of revocations made before it started from the
    sessions topic (over the access-token TTL), not only of those it sees
    live: its first answer to the revoked session's token is 4401."""
    import requests
    import time
    u = api.user()
    r = requests.post(api.url + "/api/v1/auth/logout", json={}, headers=u.auth, timeout=15)
    assert r.status_code == 204, r.text
    end = time.monotonic() + 10  # the revocation is in the topic: REST has read it
    while requests.get(api.url + "/api/v1/users/me", headers=u.auth, timeout=15
                       ).status_code != 401:
        assert time.monotonic() < end, "the revocation never reached the read side"
        time.sleep(0.05)
    h = stack.start_service("pusher", port=_free(), wait=True)

    async def first_answer(token):
        async with websockets.connect(ws_url(None, h.port), open_timeout=10) as ws:
            await ws.send(json.dumps({"type": "auth", "access_token": token}))
            try:
                return json.loads(await asyncio.wait_for(ws.recv(), 10))["type"]
            except websockets.ConnectionClosed as e:
                return e.rcvd.code if e.rcvd else None
    try:
        assert h.ready()
        assert asyncio.run(first_answer(u.access)) == 4401
        assert asyncio.run(first_answer(api.user().access)) == "ready"  # others get in
    finally:
        h.stop()
