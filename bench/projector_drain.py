#!/usr/bin/python3
"""Projector drain rate: how fast k history projectors empty a backlog.

Starts a private Parley stack (own ports and data directory), creates
conversations through the API, stops the stack's projector, produces a
backlog of B valid message.created events straight into parley.events with
`parley-flood broker --no-drain`, then starts k projectors (optionally each
under a CPU quota, as bench/scale_demo.py does) and follows the group's lag
with `parley-flood broker --drain-only` until it is 0. Prints events/s.

  bench/projector_drain.py [--backlog 30000] [--instances 1,2] [--quota 0]
                           [--batch 500] [--out-dir DIR]

--quota 0 runs the projectors without a quota (they share the machine with
Postgres and Kafka, which is where the ceiling is on a small box).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "infra" / "local"))
import parley_stack as ps  # noqa: E402
import scale_demo as sd  # noqa: E402


def psql(cfg, sql):
    """What the projection holds, so a fast drain that stored nothing shows."""
    return subprocess.run([str(Path(cfg.pg_bin) / "psql"), "-X", "-q", "-t", "-A",
                           "-h", "127.0.0.1", "-p", str(cfg.pg_port), "-U", "parley",
                           "-d", "parley", "-c", sql],
                          capture_output=True, text=True, timeout=30, check=True).stdout.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backlog", type=int, default=30000)
    ap.add_argument("--instances", type=lambda s: [int(x) for x in s.split(",")],
                    default=[1])
    ap.add_argument("--quota", type=float, default=0)
    ap.add_argument("--batch", type=int, default=0,
                    help="PARLEY_PROJECTOR_BATCH for the measured projectors (0: default)")
    ap.add_argument("--drain-timeout", type=int, default=120)
    ap.add_argument("--build-dir", default=os.environ.get("PARLEY_BUILD_DIR",
                                                           str(REPO / "build")))
    ap.add_argument("--out-dir", default=None)
    args = ap.parse_args()
    args.flood = Path(args.build_dir) / "tools" / "flood" / "parley-flood"
    res = Path(args.out_dir or tempfile.mkdtemp(prefix="parley-drain-res-", dir="/tmp"))
    res.mkdir(parents=True, exist_ok=True)

    os.environ["PARLEY_RATE_PER_S"] = "1000000"
    os.environ["PARLEY_RATE_BURST"] = "1000000"
    os.environ["PARLEY_LOGIN_RATE_IP_PER_MIN"] = "1000000"
    os.environ["PARLEY_LOGIN_RATE_IP_BURST"] = "1000000"
    data = Path(tempfile.mkdtemp(prefix="parley-drain-", dir="/tmp"))
    os.chmod(data, 0o755)
    ports = {n: ps.free_port() for n in ps.SERVICES}
    cfg = ps.Config.from_env(data_dir=data / "data", build_dir=args.build_dir,
                             http_port=ps.free_port(), pg_port=ps.free_port(),
                             kafka_port=ps.free_port(), kafka_controller_port=ps.free_port(),
                             service_ports=ports, echo=False, ready_timeout=90)
    stack = ps.Stack(cfg)
    quotas = sd.Quotas(name="parley-drain") if args.quota > 0 else None
    env = {"PARLEY_PROJECTOR_BATCH": str(args.batch)} if args.batch else {}
    common = ["--url", cfg.public_url, "--brokers", cfg.kafka_brokers,
              "--conv-file", res / "conversations.txt"]
    (res / "conversations.txt").unlink(missing_ok=True)
    try:
        stack.start_all()
        if not stack.all_ready():
            raise SystemExit(f"stack not ready: {stack.not_ready()} (logs in {cfg.log_dir})")
        sd.flood(args, "broker", *common, "--backlog", 1, "--drain-timeout", 30,
                 "--out", res / "setup.json")
        stack.handle("projector").stop()
        for k in args.instances:
            sd.flood(args, "broker", *common, "--backlog", args.backlog, "--no-drain",
                     "--out", res / f"backlog-{k}.json")
            hs = []
            for _ in range(k):
                h = stack.start_service("projector", port=ps.free_port(), extra_env=env)
                if quotas:
                    quotas.limit(h.name, h.pid, args.quota)
                hs.append(h)
            out = res / f"drain-{k}.json"
            sd.flood(args, "broker", *common, "--drain-only", "--drain-timeout",
                     args.drain_timeout, "--tag", f"instances={k}", "--out", out)
            for h in hs:
                h.stop()
            g = json.loads(out.read_text())["results"]["groups"][0]
            stored = psql(cfg, "SELECT count(*) FROM history.messages")
            print(f"projector-drain: instances={k} backlog={args.backlog} "
                  f"events_per_s={g['events_per_s']:.0f} "
                  f"peak_events_per_s={g['peak_events_per_s']:.0f} "
                  f"per_instance={g['events_per_s'] / k:.0f} "
                  f"drain_s={g['drain_s']:.1f} messages_stored={stored}", flush=True)
    finally:
        stack.stop_all()
        if quotas:
            quotas.cleanup()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
