"""Presence: online/offline/last_seen from open sockets on every pusher,
pushed as presence.changed to co-members and returned on user objects."""
import asyncio
import os
import signal
import time

import pytest

import parley_stack
from parley_client import Socket, ws_url

TTL_S = int(os.environ.get("PARLEY_PRESENCE_TTL_MS", "4000")) / 1000


@pytest.fixture(scope="module")
def pusher_b(stack):
    h = stack.start_service("pusher", port=parley_stack.free_port(), wait=True)
    assert h.ready()
    yield h
    h.stop()


def _presence(viewer, user_id):
    r = viewer.get(f"/api/v1/users/{user_id}")
    assert r.status_code == 200, r.text
    return r.json()["user"]["presence"]


async def _wait_presence(viewer, user_id, status, timeout=20):
    end = time.monotonic() + timeout
    while True:
        p = _presence(viewer, user_id)
        if p["status"] == status or time.monotonic() > end:
            return p
        await asyncio.sleep(0.1)


def _frames(sock, user_id, status=None):
    return [f for f in sock.frames if f.get("type") == "presence.changed"
            and f["user_id"] == user_id and (status is None or f["status"] == status)]


def test_presence_across_pushers(api, stack, pusher_b):
    alice, bob, stranger = api.user(), api.user(), api.user()
    alice.direct_with(bob)
    port_a = stack.config.service_port("pusher")

    async def scenario():
        async with Socket(ws_url(None, pusher_b.port), bob.access) as observer, \
                Socket(ws_url(None, pusher_b.port), stranger.access) as outsider:
            before = _presence(bob, alice.id)
            assert before == {"status": "offline", "last_seen": None}, before
            first = Socket(ws_url(None, port_a), alice.access)
            await first.__aenter__()
            hit = (await observer.wait_for(
                lambda f: f.get("type") == "presence.changed" and f["user_id"] == alice.id))[0]
            assert hit["status"] == "online", hit
            assert (await _wait_presence(bob, alice.id, "online"))["status"] == "online"
            me = alice.get("/api/v1/users/me").json()["user"]["presence"]
            assert me["status"] == "online", me

            # A second socket, then closing one of two: still online, no frame.
            second = Socket(ws_url(None, pusher_b.port), alice.access)
            await second.__aenter__()
            await first.__aexit__(None, None, None)
            await asyncio.sleep(TTL_S + 1)
            assert _frames(observer, alice.id, "offline") == []
            assert len(_frames(observer, alice.id, "online")) == 1
            assert _presence(bob, alice.id)["status"] == "online"

            # The last socket closes: offline with last_seen, everywhere.
            closed_at = time.time()
            await second.__aexit__(None, None, None)
            off = (await observer.wait_for(
                lambda f: f.get("type") == "presence.changed" and f["user_id"] == alice.id
                and f["status"] == "offline"))[0]
            assert off["last_seen"], off
            p = await _wait_presence(bob, alice.id, "offline")
            assert p["status"] == "offline" and p["last_seen"] == off["last_seen"], (p, off)
            assert abs(_iso_s(p["last_seen"]) - closed_at) < 5, (p, closed_at)
            # Someone who shares no conversation with alice hears nothing.
            assert _frames(outsider, alice.id) == []
    asyncio.run(scenario())


def test_last_seen_survives_in_postgres(api, stack):
    alice, bob = api.user(), api.user()
    alice.direct_with(bob)

    async def scenario():
        async with Socket(ws_url(stack.config.public_url), alice.access):
            await _wait_presence(bob, alice.id, "online")
    asyncio.run(scenario())
    p = asyncio.run(_wait_presence(bob, alice.id, "offline"))
    assert p["last_seen"], p
    # The pusher that closed the last socket wrote it (not only auth's memory).
    end = time.monotonic() + 10
    while time.monotonic() < end:
        row = stack.postgres.psql(
            f"SELECT last_seen_at IS NOT NULL FROM auth.users WHERE id = '{alice.id}'",
            db="parley").strip()
        if row == "t":
            break
        time.sleep(0.2)
    assert row == "t"


def test_crashed_pusher_users_go_offline(api, stack):
    alice, bob = api.user(), api.user()
    alice.direct_with(bob)
    doomed = stack.start_service("pusher", port=parley_stack.free_port(), wait=True)
    try:
        async def scenario():
            async with Socket(ws_url(stack.config.public_url), bob.access) as observer:
                victim = Socket(ws_url(None, doomed.port), alice.access)
                await victim.__aenter__()
                await observer.wait_for(lambda f: f.get("type") == "presence.changed"
                                        and f["user_id"] == alice.id
                                        and f["status"] == "online")
                old = doomed.pid
                killed_at = time.monotonic()
                doomed.kill(signal.SIGKILL)
                off = (await observer.wait_for(
                    lambda f: f.get("type") == "presence.changed"
                    and f["user_id"] == alice.id and f["status"] == "offline",
                    timeout=TTL_S + 15))[0]
                took = time.monotonic() - killed_at
                assert took < TTL_S + 5, took
                assert off["last_seen"], off
                p = await _wait_presence(bob, alice.id, "offline")
                assert p["status"] == "offline" and p["last_seen"], p
                victim.task.cancel()
                assert doomed.wait_restarted(old, 60)
        asyncio.run(scenario())
    finally:
        doomed.stop()


def test_presence_on_user_objects_is_validated(api):
    u = api.user()
    r = u.get("/api/v1/users/not-a-uuid")
    assert r.status_code == 404


def _iso_s(ts):
    from datetime import datetime
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
