#!/usr/bin/python3
"""End-to-end smoke test of the docker compose stack, through nginx only.

    tests/compose/smoke.py [--keep] [--project NAME] [--port N]

Brings up docker-compose.yml (images must exist: infra/docker/build-images.sh),
waits for every container's healthcheck, then:
  1. two users register, log in, open a direct conversation, chat over
     WebSockets and read the history back (through nginx on 127.0.0.1);
  2. measures the stack's idle memory (docker stats);
  3. scales to pusher=3 and history-projector=4 and checks that the load is
     shared: nginx spreads WebSockets over all three pushers, every pusher
     delivers, and the four projectors split the 32 partitions of
     parley-history-projector between them; messages sent across many
     partitions are all projected;
  4. re-runs the keygen init container (idempotent) and checks that the
     signing keys did not change;
and always tears the stack down with its volumes (unless --keep).

Exits non-zero on the first failed check and prints the containers' logs.
Talks only to 127.0.0.1 (the published edge port) and to the Docker daemon.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "infra" / "local"))
from parley_client import Api, Socket, message_frames, ws_url  # noqa: E402
from parley_stack import free_port  # noqa: E402

DOCKER = os.environ.get("DOCKER", "/usr/bin/docker" if Path("/usr/bin/docker").exists()
                        else "docker")
GROUP = "parley-history-projector"
PARTITIONS = 32


def log(msg: str) -> None:
    print(f"smoke: {msg}", flush=True)


def compose_cmd() -> list[str]:
    env = os.environ.get("PARLEY_COMPOSE")
    if env:
        return env.split()
    if subprocess.run([DOCKER, "compose", "version"], capture_output=True).returncode == 0:
        return [DOCKER, "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    sys.exit("smoke: neither `docker compose` nor docker-compose is installed")


class Stack:
    def __init__(self, project: str, port: int):
        self.project = project
        self.port = port
        self.compose = compose_cmd() + ["-p", project, "-f", str(REPO / "docker-compose.yml")]
        self.env = dict(os.environ, PARLEY_PUBLIC_PORT=str(port))
        self.url = f"http://127.0.0.1:{port}"

    def run(self, *args, check=True, capture=False, timeout=600):
        cmd = self.compose + list(args)
        r = subprocess.run(cmd, env=self.env, cwd=REPO, timeout=timeout, text=True,
                           stdout=subprocess.PIPE if capture else None,
                           stderr=subprocess.STDOUT if capture else None)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}\n{r.stdout or ''}")
        return r

    def containers(self, service: str | None = None) -> list[dict]:
        args = [DOCKER, "ps", "-a", "--format", "{{.ID}}",
                "--filter", f"label=com.docker.compose.project={self.project}"]
        if service:
            args += ["--filter", f"label=com.docker.compose.service={service}"]
        ids = subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()
        if not ids:
            return []
        out = subprocess.run([DOCKER, "inspect", *ids], capture_output=True, text=True,
                             check=True).stdout
        return json.loads(out)

    def wait_healthy(self, expect: dict[str, int], timeout: float = 240) -> None:
        """Every container of every expected service healthy (one-shots exited 0)."""
        end = time.monotonic() + timeout
        while True:
            states, bad = {}, []
            for c in self.containers():
                svc = c["Config"]["Labels"]["com.docker.compose.service"]
                st = c["State"]
                if svc == "keygen":
                    ok = st["Status"] == "exited" and st["ExitCode"] == 0
                    if st["Status"] == "exited" and st["ExitCode"] != 0:
                        bad.append(f"keygen exited {st['ExitCode']}")
                else:
                    ok = st.get("Health", {}).get("Status") == "healthy"
                    if st["Status"] in ("exited", "dead") or st.get("Restarting"):
                        bad.append(f"{c['Name']} {st['Status']} (exit {st['ExitCode']})")
                states.setdefault(svc, []).append(ok)
            ready = all(len(states.get(s, [])) == n and all(states[s]) for s, n in expect.items())
            if ready:
                return
            if time.monotonic() > end or (bad and time.monotonic() > end - timeout + 30):
                summary = {s: f"{sum(v)}/{len(v)} healthy" for s, v in states.items()}
                raise AssertionError(f"stack not healthy after {timeout:.0f}s: {summary} {bad}")
            time.sleep(2)

    def logs(self, tail: int = 60) -> None:
        self.run("logs", "--no-color", f"--tail={tail}", check=False)

    def memory(self) -> list[tuple[str, float]]:
        ids = [c["Id"][:12] for c in self.containers() if c["State"]["Status"] == "running"]
        out = subprocess.run([DOCKER, "stats", "--no-stream", "--format",
                              "{{.Name}}\t{{.MemUsage}}", *ids],
                             capture_output=True, text=True, check=True).stdout
        units = {"B": 1 / 2**20, "KiB": 1 / 1024, "MiB": 1, "GiB": 1024}
        rows = []
        for line in out.splitlines():
            name, usage = line.split("\t")
            m = re.match(r"([\d.]+)\s*([KMG]?i?B)", usage)
            rows.append((name, float(m.group(1)) * units[m.group(2)]))
        return sorted(rows)


# --------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------

async def chat(api: Api, sockets_each: int = 1, text: str = "hello over the compose stack"):
    """Two users, a direct conversation, one message each way over WebSockets."""
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    url = ws_url(api.url)
    socks_a = [Socket(url, alice.access) for _ in range(sockets_each)]
    socks_b = [Socket(url, bob.access) for _ in range(sockets_each)]
    for s in socks_a + socks_b:
        await s.__aenter__()
    try:
        sent_a = alice.send(conv["id"], text)
        sent_b = bob.send(conv["id"], "and back again")
        for s in socks_a + socks_b:   # every socket, whichever pusher holds it
            for mid in (sent_a["message_id"], sent_b["message_id"]):
                await s.wait_for(lambda f, mid=mid: f.get("type") == "message.created"
                                 and f.get("conversation_id") == conv["id"]
                                 and (f.get("message") or {}).get("id") == mid, timeout=20)
        hist = bob.all_messages(conv["id"], min_position=sent_b["position"])
        texts = [m["text"] for m in hist]
        assert texts == [text, "and back again"], texts
        frames = message_frames(socks_b[0].frames, conv["id"])
        assert len({f["message"]["id"] for f in frames}) == 2, frames
    finally:
        for s in socks_a + socks_b:
            await s.__aexit__(None, None, None)
    return alice, bob


def check_edge(stack: Stack) -> None:
    import requests
    r = requests.get(stack.url + "/healthz", timeout=5)
    assert r.status_code == 200 and r.text == "ok\n", (r.status_code, r.text)
    r = requests.get(stack.url + "/api/v1/openapi.json", timeout=5)
    assert r.status_code == 200 and r.json().get("openapi", "").startswith("3."), r.text[:200]
    r = requests.get(stack.url + "/", timeout=5)
    assert r.status_code == 200 and "<html" in r.text.lower(), r.text[:200]
    r = requests.get(stack.url + "/api/v1/nope", timeout=5)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text


def attachments_and_archive(stack: Stack, api: Api) -> None:
    """An image goes up through nginx to media and comes back to a member;
    the archiver seals the events into at least one segment."""
    import requests
    import struct
    import zlib
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)["id"]
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    idat = b"IDAT" + zlib.compress(b"\x00\x00")  # one grey pixel, filter 0

    def chunk(body):
        return struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    png = b"\x89PNG\r\n\x1a\n" + chunk(ihdr) + chunk(idat) + chunk(b"IEND")
    r = requests.post(stack.url + "/api/v1/attachments?filename=dot.png", data=png,
                      headers=alice.auth, timeout=30)
    assert r.status_code == 201 and r.json()["content_type"] == "image/png", r.text
    att = r.json()["id"]
    r = alice.post(f"/api/v1/conversations/{conv}/messages",
                   {"client_msg_id": "img", "text": "", "attachment_ids": [att]})
    assert r.status_code == 202, r.text
    bob.history(conv, min_position=r.json()["position"], limit=1)
    got = requests.get(f"{stack.url}/api/v1/attachments/{att}", headers=bob.auth, timeout=30)
    assert got.status_code == 200 and got.content == png, got.status_code
    end = time.monotonic() + 90
    while True:
        out = stack.run("exec", "-T", "-e", "PGPASSWORD=" + os.environ.get(
                            "PARLEY_PG_PASSWORD", "parley-dev-only"), "postgres", "psql",
                        "-h", "127.0.0.1", "-U", "parley", "-d", "parley", "-Atc",
                        "SELECT count(*) FROM archive.segments", capture=True,
                        check=False).stdout
        if out and out.strip().isdigit() and int(out.strip()) > 0:
            return
        assert time.monotonic() < end, f"no archive segment sealed: {out!r}"
        time.sleep(3)


def projector_members(stack: Stack) -> list[int]:
    """Partitions held by each member of the projector group (from the broker)."""
    kafka = stack.containers("kafka")[0]["Id"]
    r = subprocess.run([DOCKER, "exec", kafka, "parley-kafka", "tool",
                        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
                        "--bootstrap-server", "127.0.0.1:9094", "--describe", "--members",
                        "--group", GROUP], capture_output=True, text=True, timeout=90)
    counts = []
    for line in r.stdout.splitlines():
        cols = line.split()
        if len(cols) >= 6 and cols[0] == GROUP and cols[-1].isdigit():
            counts.append(int(cols[-1]))
    return counts


def wait_group(stack: Stack, members: int, timeout: float = 120) -> list[int]:
    end = time.monotonic() + timeout
    counts: list[int] = []
    while time.monotonic() < end:
        counts = projector_members(stack)
        if len(counts) == members and sum(counts) == PARTITIONS and min(counts) > 0:
            return counts
        time.sleep(3)
    raise AssertionError(f"{GROUP}: wanted {members} members sharing {PARTITIONS} "
                         f"partitions, broker reports {counts}")


def ws_upstreams(stack: Stack, since: str) -> set[str]:
    web = stack.containers("web")[0]["Id"]
    out = subprocess.run([DOCKER, "logs", "--since", since, web], capture_output=True,
                         text=True).stdout
    return set(re.findall(r'uri="/api/v1/ws" status=101 .*?upstream=([\d.]+):8084', out))


def container_ips(stack: Stack, service: str) -> set[str]:
    return {n["IPAddress"] for c in stack.containers(service)
            for n in c["NetworkSettings"]["Networks"].values()}


async def scaled_checks(stack: Stack, api: Api) -> None:
    since = f"{int(time.time()) - 1}"
    # Six sockets per user through nginx: round robin over three pushers.
    await chat(api, sockets_each=3, text="fan-out across three pushers")
    used = ws_upstreams(stack, since)
    pushers = container_ips(stack, "pusher")
    assert len(pushers) == 3, pushers
    assert used == pushers, f"nginx sent WebSockets to {sorted(used)}, pushers are {sorted(pushers)}"
    log(f"WebSockets spread over all pushers: {sorted(used)}")


def many_partitions(api: Api, n: int = 12) -> None:
    """Conversations land on different partitions; every one is projected."""
    alice = api.user()
    last = {}
    for _ in range(n):
        other = api.user()
        conv = alice.direct_with(other)
        last[conv["id"]] = alice.send(conv["id"], "spread")["position"]
    parts = {p.split(".")[0] for p in last.values()}
    for conv_id, pos in last.items():
        msgs = alice.all_messages(conv_id, min_position=pos)
        assert [m["text"] for m in msgs] == ["spread"], msgs
    log(f"{n} conversations on {len(parts)} partitions all projected by the group")


def key_fingerprint(stack: Stack) -> str:
    auth = stack.containers("auth")[0]["Id"]
    # No shell in the runtime image: read the public key via docker cp.
    r = subprocess.run([DOCKER, "cp", f"{auth}:/keys/ed25519.pub", "-"], capture_output=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.hex()[-200:]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--project", default=os.environ.get("PARLEY_COMPOSE_PROJECT", "parley-smoke"))
    ap.add_argument("--port", type=int, default=int(os.environ.get("PARLEY_SMOKE_PORT", 0)))
    ap.add_argument("--keep", action="store_true", help="leave the stack running")
    args = ap.parse_args()
    stack = Stack(args.project, args.port or free_port())
    api = Api(stack.url)
    passed, failed = 0, 0
    t0 = time.monotonic()

    def step(name, fn):
        nonlocal passed
        t = time.monotonic()
        fn()
        passed += 1
        log(f"ok   {name} ({time.monotonic() - t:.1f}s)")

    stack.run("down", "-v", "--remove-orphans", check=False, capture=True)
    try:
        step("compose up (every container healthy, dependency order)", lambda: (
            stack.run("up", "-d", "--no-build"),
            stack.wait_healthy({"postgres": 1, "kafka": 1, "keygen": 1, "auth": 1,
                                "history-projector": 1, "read": 1, "command": 1,
                                "pusher": 1, "media": 1, "archiver": 1, "web": 1})))
        log(f"stack healthy {time.monotonic() - t0:.0f}s after `up`")
        step("edge: healthz, openapi, web client, JSON 404", lambda: check_edge(stack))
        step("two users chat over WebSockets and read history back",
             lambda: asyncio.run(chat(api)))
        step("attachment up and down through nginx; archiver seals a segment",
             lambda: attachments_and_archive(stack, api))
        time.sleep(5)
        mem = stack.memory()
        total = sum(m for _, m in mem)
        for name, m in mem:
            log(f"idle memory {name:<40} {m:8.1f} MiB")
        log(f"idle memory total (1 replica each): {total:.0f} MiB")
        step("projector group has one member holding all partitions",
             lambda: wait_group(stack, 1))
        step("scale: pusher=3 history-projector=4", lambda: (
            stack.run("up", "-d", "--no-build", "--no-recreate",
                      "--scale", "pusher=3", "--scale", "history-projector=4"),
            stack.wait_healthy({"pusher": 3, "history-projector": 4, "web": 1})))
        counts = []
        step("four projectors split the 32 partitions",
             lambda: counts.extend(wait_group(stack, 4)))
        log(f"partitions per projector: {sorted(counts)}")
        time.sleep(6)   # nginx re-resolves `pusher` (resolver valid=5s)
        step("WebSockets spread over three pushers; each delivers",
             lambda: asyncio.run(scaled_checks(stack, api)))
        step("messages on many partitions projected by the scaled group",
             lambda: many_partitions(api))
        mem = stack.memory()
        log(f"idle memory total (pusher=3, projector=4): {sum(m for _, m in mem):.0f} MiB")
        before = key_fingerprint(stack)
        step("keygen init is idempotent (re-run keeps the keys)", lambda: (
            stack.run("run", "--rm", "keygen"),
            None if key_fingerprint(stack) == before else (_ for _ in ()).throw(
                AssertionError("signing key changed"))))
    except Exception as e:  # noqa: BLE001 - report, dump logs, fail
        failed += 1
        log(f"FAIL {type(e).__name__}: {e}")
        stack.logs()
    finally:
        if not args.keep:
            stack.run("down", "-v", "--remove-orphans", "--timeout", "20", check=False,
                      capture=True)
            left = stack.containers()
            if left:
                log(f"containers left behind: {[c['Name'] for c in left]}")
                failed += 1
    log(f"done in {time.monotonic() - t0:.0f}s")
    print(f"smoke: {passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
