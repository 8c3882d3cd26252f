"""The archiver: every event lands in exactly one hash-chained segment,
a crash neither loses nor doubles a range, and verify names a tampered
segment."""
import os
import signal
import subprocess
import time
from pathlib import Path


def _admin(stack, *args):
    cfg = stack.config
    env = dict(os.environ, PARLEY_PG_DSN=cfg.pg_dsn,
               PARLEY_ARCHIVE_DIR=str(cfg.data_dir / "archive"))
    return subprocess.run([str(cfg.build_dir / "cmd/admin/parley-admin"), *args], env=env,
                          capture_output=True, text=True, timeout=120)


def _archived_to(stack, partition):
    out = stack.postgres.psql(
        f"SELECT next_offset FROM archive.offsets WHERE topic='parley.events' "
        f"AND partition={partition}", db="parley").strip()
    return int(out) if out else -1


def _wait_archived(stack, position, timeout=60):
    part, off = position[1:].split(".o")
    end = time.monotonic() + timeout
    while _archived_to(stack, int(part)) <= int(off):
        assert time.monotonic() < end, f"{position} not archived in {timeout}s"
        time.sleep(0.3)
    return int(part)


def _segments(stack, partition):
    rows = stack.postgres.psql(
        "SELECT range_start, range_end, event_count, store_key FROM archive.segments "
        f"WHERE topic='parley.events' AND partition={partition} ORDER BY range_start",
        db="parley").strip().splitlines()
    return [r.split("|") for r in rows if r]


def test_every_event_is_archived_once_and_verifies(api, stack):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    sent = [alice.send(conv["id"], f"archive me {i}") for i in range(30)]
    part = _wait_archived(stack, sent[-1]["position"])
    segs = _segments(stack, part)
    assert segs, "no segments"
    # Contiguous ranges from 0: no hole, no overlap.
    assert int(segs[0][0]) == 0
    for a, b in zip(segs, segs[1:]):
        assert int(a[1]) == int(b[0])
    r = _admin(stack, "archive", "verify")
    assert r.returncode == 0, r.stdout + r.stderr
    assert " 0 problems" in r.stdout


def test_verify_names_a_tampered_segment(api, stack):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    sent = alice.send(conv["id"], "evidence")
    part = _wait_archived(stack, sent["position"])
    key = _segments(stack, part)[-1][3]
    path = next(Path(stack.config.data_dir / "archive").rglob(key))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    original = path.read_bytes()
    path.write_bytes(bytes(data))
    try:
        r = _admin(stack, "archive", "verify")
        assert r.returncode == 1, r.stdout
        assert f"tampered: segment {key}" in r.stdout
    finally:
        path.write_bytes(original)
    assert _admin(stack, "archive", "verify").returncode == 0


def test_archiver_sigkill_leaves_no_hole_or_duplicate(api, stack):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    arch = stack.handle("archiver")
    sent = []
    for i in range(60):
        sent.append(alice.send(conv["id"], f"crash {i}"))
        if i in (20, 40):
            old = arch.pid
            arch.kill(signal.SIGKILL)
            assert arch.wait_restarted(old, 60)
    part = _wait_archived(stack, sent[-1]["position"])
    segs = _segments(stack, part)
    for a, b in zip(segs, segs[1:]):
        assert int(a[1]) == int(b[0]), (a, b)
    # Each archived range holds exactly its events: sum == span.
    assert sum(int(s[2]) for s in segs) == int(segs[-1][1]) - int(segs[0][0])
    r = _admin(stack, "archive", "verify")
    assert r.returncode == 0, r.stdout + r.stderr


def _group_offsets(stack, group):
    """{partition: committed offset} of group, from Kafka's own tool."""
    cfg = stack.config
    env = dict(os.environ, PARLEY_KAFKA_PORT=str(cfg.kafka_port))
    out = subprocess.run(
        ["bash", "-c", f'. "{cfg.kafka_scripts}/env.sh"; kafka_tool '
         f'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server '
         f'"$KAFKA_BOOTSTRAP" --describe --group {group}'],
        env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    got = {}
    for line in out.stdout.splitlines():
        f = line.split()
        if len(f) >= 4 and f[1] == "parley.events" and f[3].isdigit():
            got[int(f[2])] = int(f[3])
    return got


def test_archiver_commits_its_progress_to_kafka_for_lag_scalers(api, stack):
    """KEDA's Kafka scaler reads group offsets: the archiver keeps its
    resume point in Postgres, so it must also commit what it sealed."""
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    sent = alice.send(conv["id"], "commit me")
    part = _wait_archived(stack, sent["position"])
    end = time.monotonic() + 30
    while _group_offsets(stack, "parley-archiver").get(part, -1) < _archived_to(stack, part):
        assert time.monotonic() < end, "archiver never committed its sealed offset"
        time.sleep(1)
