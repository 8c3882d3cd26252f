#!/usr/bin/python3
"""The long version of the fault tests: parley-flood chat --resilient runs
for minutes against a private stack while every fault of the short
versions (tests/integration/test_resilience.py, test_netfaults.py) is
applied in turn, each as many times as the run is long.

  bench/fault_flood.py [--duration 600] [--rate 100] [--users 60]
                       [--clients 120] [--every 20] [--flap-every 10]
                       [--faults kill-command,...] [--out results.json]

The flood's clients act as real ones do: a socket the server closes comes
back after 0.5-1 s and resumes from the last position it saw, a failed
send is retried with the same client_msg_id, and --flap-every drops every
socket that often on purpose (the flapping client). Kafka and Postgres
sit behind TCP proxies (tests/integration/netproxy.py) for the network
faults. At the end it prints, for the whole run and for each fault:
sent, acknowledged, stored, delivered to every member, lost (acknowledged
but not delivered, or not stored), duplicates seen by any client, and
for each fault two recovery times: until the broken part serves again
(service_back_s), and until the flood has a whole second with no error and
90 % of its offered sends accepted (stream_back_s). The flood's own result
is kept next to --out as *.flood.json.

Starts its own stack from PARLEY_BUILD_DIR (default build/) on free ports
in a throwaway directory under /tmp; targets only 127.0.0.1."""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "infra" / "local"))
sys.path.insert(0, str(REPO / "tests" / "integration"))
import parley_stack as ps  # noqa: E402
from netproxy import FaultProxy  # noqa: E402

FAULTS = ["kill-command", "kill-projector", "kill-pusher", "kill-auth", "kill-read",
          "kafka-restart", "postgres-restart", "stop-projector", "net-kafka", "net-postgres"]


def start_stack(build_dir):
    data = Path(tempfile.mkdtemp(prefix="parley-faults-", dir="/tmp"))
    os.chmod(data, 0o755)
    http, pg, kafka, ctrl, pg_proxy, kafka_proxy, *svc = \
        [ps.free_port() for _ in range(6 + len(ps.SERVICES))]
    proxies = {"kafka": FaultProxy(kafka, kafka_proxy).start(),
               "postgres": FaultProxy(pg, pg_proxy).start()}
    # Emulated users all log in from 127.0.0.1: lift the per-IP login limit.
    os.environ.update(PARLEY_RATE_PER_S="100000", PARLEY_RATE_BURST="100000",
                      PARLEY_LOGIN_RATE_IP_PER_MIN="1000000",
                      PARLEY_LOGIN_RATE_IP_BURST="1000000",
                      PARLEY_BUILD_DIR=str(build_dir))
    cfg = ps.Config.from_env(data_dir=data / "data", http_port=http, pg_port=pg,
                             pg_client_port=pg_proxy, kafka_port=kafka,
                             kafka_advertised_port=kafka_proxy, kafka_controller_port=ctrl,
                             echo=False, service_ports=dict(zip(ps.SERVICES, svc)),
                             ready_timeout=90)
    stack = ps.Stack(cfg)
    stack.start_all()
    if not stack.all_ready():
        stack.stop_all()
        raise SystemExit(f"stack not ready: {stack.not_ready()}")
    return stack, proxies, data


def restart(handle, sig):
    """Signals a supervised process and waits until it is back and ready."""
    old, t0 = handle.pid, time.monotonic()
    handle.kill(sig)
    if not handle.wait_restarted(old, 180) or not handle.wait_ready(180):
        return None
    return time.monotonic() - t0


def net_fault(proxy):
    """500 ms on every chunk for 5 s, then three resets of every connection,
    refusing new ones for a second each time (as test_netfaults.py)."""
    t0 = time.monotonic()
    proxy.delay_s = 0.5
    time.sleep(5)
    proxy.delay_s = 0.0
    for _ in range(3):
        proxy.drop(refuse_s=1.0)
        time.sleep(2)
    return time.monotonic() - t0


def apply(fault, stack, proxies):
    """Applies one fault; returns seconds until the broken part serves again."""
    kind, _, what = fault.partition("-")
    if kind == "kill":
        return restart(stack.handle(what), signal.SIGKILL)
    if fault == "kafka-restart":
        return restart(stack.handle("kafka"), signal.SIGTERM)
    if fault == "postgres-restart":
        return restart(stack.handle("postgres"), signal.SIGINT)
    if fault == "stop-projector":  # past the 10 s session timeout: a rebalance
        h = stack.handle("projector")
        t0 = time.monotonic()
        h.kill(signal.SIGSTOP)
        time.sleep(14)
        h.kill(signal.SIGCONT)
        return time.monotonic() - t0
    if kind == "net":
        return net_fault(proxies[what])
    raise SystemExit(f"unknown fault {fault}")


def stored(stack, run):
    """Rows and distinct client_msg_ids the history holds for a flood run."""
    q = ("SELECT count(*), count(DISTINCT client_msg_id) FROM history.messages "
         f"WHERE client_msg_id LIKE 'fl.{run}.%'")
    rows, distinct = stack.postgres.psql(q, db="parley").split("|")
    return int(rows), int(distinct)


def wait_stored(stack, run, want, timeout=180):
    end = time.monotonic() + timeout
    while True:
        rows, distinct = stored(stack, run)
        if distinct >= want or time.monotonic() > end:
            return rows, distinct
        time.sleep(1)


def flood_cmd(args, stack, out):
    exe = Path(os.environ["PARLEY_BUILD_DIR"]) / "tools" / "flood" / "parley-flood"
    cmd = [str(exe), "chat", "--url", stack.config.public_url, "--resilient",
           "--users", args.users, "--clients", args.clients, "--rate", args.rate,
           "--duration", args.duration, "--grace", 60, "--out", out]
    if args.flap_every:
        cmd += ["--flap-every", args.flap_every]
    return [str(c) for c in cmd]


def stream_back(timeline, at_s):
    """Seconds from a fault to the first whole second of the flood with no
    error and at least 90 % of the offered sends accepted."""
    for sec in timeline:
        if sec["t"] >= int(at_s) and sec["errors"] == 0 and \
                sec["accepted"] >= 0.9 * sec["offered"]:
            return round(max(0.0, sec["t"] + 1 - at_s), 1)
    return None


def summary(doc, rows, distinct, faults):
    r = doc["results"]
    for f in faults:
        f["stream_back_s"] = stream_back(doc["timeline"], f["at_s"])
    accepted, res = r["sends_accepted"], r["resilient"]
    return {
        "sent": r["sends_attempted"], "acknowledged": accepted,
        "stored": distinct, "stored_rows": rows,
        "deliveries_expected": r["deliveries_expected"], "delivered": r["deliveries"],
        "lost_deliveries": r["lost_deliveries"], "lost_messages": r["lost_messages"],
        "lost_stored": max(0, accepted - distinct) if res["sends_given_up"] == 0 else None,
        "duplicates_delivered": r["duplicates"], "duplicates_stored": rows - distinct,
        "reconnects": res["reconnects"], "flaps": res["flaps"],
        "server_closes": res["server_closes"], "resume_gaps": res["resume_gaps"],
        "send_retries": res["send_retries"], "sends_given_up": res["sends_given_up"],
        "e2e_p50_ms": r["e2e_latency"]["p50_ms"], "e2e_p99_ms": r["e2e_latency"]["p99_ms"],
        "errors": {k: v for k, v in r["errors"].items() if v}, "faults": faults}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=600)
    ap.add_argument("--rate", default="100")
    ap.add_argument("--users", type=int, default=60)
    ap.add_argument("--clients", type=int, default=120)
    ap.add_argument("--every", type=float, default=20, help="seconds between faults")
    ap.add_argument("--flap-every", type=float, default=10)
    ap.add_argument("--faults", default=",".join(FAULTS))
    ap.add_argument("--build-dir", default=os.environ.get("PARLEY_BUILD_DIR",
                                                          str(REPO / "build")))
    ap.add_argument("--out", default=str(REPO / ".parley" / "fault_flood.json"))
    ap.add_argument("--keep", action="store_true", help="keep the stack's directory (logs)")
    args = ap.parse_args()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    faults = [f for f in args.faults.split(",") if f]
    for f in faults:
        if f not in FAULTS:
            raise SystemExit(f"unknown fault {f}; known: {', '.join(FAULTS)}")
    stack, proxies, data = start_stack(Path(args.build_dir).resolve())
    second = stack.start_service("projector", port=ps.free_port(), wait=True)
    flood_out = data / "flood.json"
    try:
        proc, sending = start_flood(flood_cmd(args, stack, flood_out))
        if not sending.wait(600):
            raise SystemExit("fault_flood: the flood never started sending")
        t0 = time.monotonic()
        last_fault = time.monotonic() + args.duration - args.every
        applied = []
        time.sleep(min(args.every, 10))  # a steady stream first
        for i in range(10**6 if faults else 0):
            if proc.poll() is not None or time.monotonic() > last_fault:
                break
            fault, t = faults[i % len(faults)], time.monotonic()
            rec = apply(fault, stack, proxies)
            applied.append({"fault": fault, "at_s": round(t - t0, 1),
                            "service_back_s": None if rec is None else round(rec, 2)})
            print(f"fault_flood: {fault}: recovered in "
                  f"{'NEVER' if rec is None else f'{rec:.2f} s'}", flush=True)
            time.sleep(max(0.0, args.every - (time.monotonic() - t)))
        proc.wait()
        doc = json.loads(flood_out.read_text())
        shutil.copy(flood_out, Path(args.out).with_suffix(".flood.json"))
        rows, distinct = wait_stored(stack, doc["run"], doc["results"]["sends_accepted"])
        result = summary(doc, rows, distinct, applied)
        Path(args.out).write_text(json.dumps({"settings": vars(args), "flood": doc,
                                              "summary": result}, indent=1))
        print(json.dumps(result, indent=1))
        bad = (result["lost_deliveries"], result["duplicates_delivered"],
               result["duplicates_stored"], result["lost_stored"])
        return 0 if bad == (0, 0, 0, 0) else 1
    finally:
        second.stop()
        stack.stop_all()
        for p in proxies.values():
            p.stop()
        if args.keep:
            print(f"fault_flood: kept {data}", file=sys.stderr)
        else:
            shutil.rmtree(data, ignore_errors=True)


def start_flood(cmd):
    """Runs the flood, echoing its progress; the event is set once it sends."""
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    sending = threading.Event()

    def pump():
        for line in proc.stderr:
            sys.stderr.write(line)
            if "sending for" in line:
                sending.set()
        sending.set()  # it ended: nothing more to wait for
    threading.Thread(target=pump, daemon=True).start()
    return proc, sending


if __name__ == "__main__":
    sys.exit(main())
