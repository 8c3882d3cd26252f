#!/usr/bin/python3
"""The autoscaling timeline (`make autoscale-demo`).

There is no Kubernetes cluster here, so this script STANDS IN FOR KEDA AND
THE HPA: it reads the ScaledObjects of infra/k8s/base/keda.yaml (lagThreshold,
activationLagThreshold, min/max replicas, pollingInterval, the HPA behavior
KEDA hands to its HPA) and applies the same rule to real service instances
of a private stack, each in a cgroup with a CPU quota (one instance = one
pod with a CPU limit, as in bench/scale_demo.py):

  desired = ceil(lag / lagThreshold), HPA tolerance 10 %, clamped to
  [minReplicaCount, min(maxReplicaCount, partitions)], then the HPA's
  stabilization windows and rate policies (scaleUp / scaleDown).

The offered load is `parley-flood broker --rate RAMP` (valid message.created
events straight into parley.events); the lag of every consumer group comes
from `parley-flood broker --drain-only --follow`, which reads the groups'
committed offsets the way KEDA's Kafka scaler does.

Time windows (pollingInterval, stabilizationWindowSeconds, periodSeconds)
are divided by --compress (default 10) so a 3-minute run shows what a
30-minute cluster timeline would; thresholds and replica bounds are not
changed. The plots and table go to docs/scaling/autoscale.md.

  bench/autoscale_demo.py [--ramp 0:100,20:4000,70:4000,85:100] [--duration 110]
                          [--tail 60] [--quota 0.25] [--compress 10]
"""
import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale_demo as sd  # noqa: E402  (Quotas, the stack, the machine intro)

ps = sd.ps
REPO = sd.REPO
# Kubernetes' HPA defaults (autoscaling/v2 behavior) when a field is absent.
HPA_DEFAULT = {
    "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15},
                             {"type": "Pods", "value": 4, "periodSeconds": 15}]},
    "scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
                  "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]},
}
TOLERANCE = 0.1  # the HPA controller's default --horizontal-pod-autoscaler-tolerance
SERVICE_OF = {"parley-history-projector": "projector", "parley-archiver": "archiver"}


def keda_rules(path, partitions, compress):
    """One rule per ScaledObject with a kafka trigger, time in real seconds."""
    rules = []
    for o in yaml.safe_load_all(Path(path).read_text()):
        if not o or o.get("kind") != "ScaledObject":
            continue
        sp = o["spec"]
        trig = next(t for t in sp["triggers"] if t["type"] == "kafka")["metadata"]
        beh = (sp.get("advanced", {}).get("horizontalPodAutoscalerConfig", {})
               .get("behavior", {}))
        b = {}
        for d in ("scaleUp", "scaleDown"):
            x = dict(HPA_DEFAULT[d], **beh.get(d, {}))
            b[d] = {"window": x["stabilizationWindowSeconds"] / compress,
                    "select": x.get("selectPolicy", "Max"),
                    "policies": [(p["type"], p["value"], p["periodSeconds"] / compress)
                                 for p in x["policies"]]}
        rules.append({"group": trig["consumerGroup"], "deployment": sp["scaleTargetRef"]["name"],
                      "threshold": int(trig["lagThreshold"]),
                      "activation": int(trig.get("activationLagThreshold", 0)),
                      "min": sp.get("minReplicaCount", 0), "max": sp.get("maxReplicaCount", 100),
                      "cap": partitions if trig.get("allowIdleConsumers") != "true" else 10**6,
                      "poll": sp.get("pollingInterval", 30) / compress, "behavior": b})
    return rules


class Controller:
    """KEDA's Kafka scaler feeding an HPA, for one consumer group."""

    def __init__(self, rule):
        self.r = rule
        self.recs = []     # (t, recommendation): the stabilization windows
        self.events = []   # (t, change): the rate policies' look-back
        self.desired = rule["min"]

    def raw(self, lag, current):
        r = self.r
        if lag <= r["activation"] and r["min"] == 0:
            return 0
        if current == 0:
            return max(1, math.ceil(lag / r["threshold"]))
        ratio = (lag / current) / r["threshold"]   # AverageValue target = lagThreshold
        if abs(ratio - 1) <= TOLERANCE:
            return current
        return math.ceil(current * ratio)

    def _limit(self, t, current, up):
        b = self.r["behavior"]["scaleUp" if up else "scaleDown"]
        bounds = []
        for kind, value, period in b["policies"]:
            moved = sum(c for (te, c) in self.events if te > t - period and (c > 0) == up)
            start = current - moved
            if up:
                bounds.append(start + value if kind == "Pods" else math.ceil(start * (1 + value / 100)))
            else:
                bounds.append(start - value if kind == "Pods" else math.floor(start * (1 - value / 100)))
        pick = max if (b["select"] == "Max") == up else min
        return pick(bounds)

    def decide(self, t, lag, current):
        r = self.r
        rec = min(max(self.raw(lag, current), r["min"]), r["max"], r["cap"])
        self.recs.append((t, rec))
        up, down = self.r["behavior"]["scaleUp"], self.r["behavior"]["scaleDown"]
        horizon = max(up["window"], down["window"])
        self.recs = [(tr, x) for tr, x in self.recs if tr >= t - horizon]
        if rec > current:   # scale up: the lowest recommendation in the up window
            want = min(x for tr, x in self.recs if tr >= t - up["window"])
            want = min(max(want, current), self._limit(t, current, True))
        else:               # scale down: the highest recommendation in the down window
            want = max(x for tr, x in self.recs if tr >= t - down["window"])
            want = max(min(want, current), self._limit(t, current, False))
        want = min(max(want, r["min"]), r["max"], r["cap"])
        if want != current:
            self.events.append((t, want - current))
        self.desired = want
        return want


def ramp_at(spec, t):
    pts = [tuple(map(float, p.split(":"))) for p in spec.split(",")]
    if t <= pts[0][0]:
        return pts[0][1]
    for (t0, r0), (t1, r1) in zip(pts, pts[1:]):
        if t <= t1:
            return r0 + (r1 - r0) * (t - t0) / (t1 - t0)
    return pts[-1][1]


class LagFollower:
    """Reads `parley-flood broker --drain-only --follow` progress lines."""
    LINE = re.compile(r"\[\s*(\d+)s\] lag (\d+) \((.*)\)")

    def __init__(self, cmd):
        self.lag = {}
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            m = self.LINE.search(line)
            if m:
                for part in m.group(3).split(", "):
                    g, _, n = part.rpartition(" ")
                    self.lag[g] = int(n)


def run(args, stack, quotas, res, rules):
    cfg = stack.config
    conv = res / "autoscale-conversations.txt"
    conv.unlink(missing_ok=True)
    common = ["--url", cfg.public_url, "--brokers", cfg.kafka_brokers, "--conv-file", conv]
    sd.flood(args, "broker", *common, "--backlog", 1, "--drain-timeout", 30,
             "--group", "parley-history-projector", "--out", res / "autoscale-setup.json")
    pods = {}
    for r in rules:   # the stack's own instance is replaced by quota'd ones
        svc = SERVICE_OF[r["group"]]
        stack.handle(svc).stop()
        pods[r["group"]] = [sd.start(stack, quotas, svc, args.quota) for _ in range(r["min"])]
    groups = [x for r in rules for x in ("--group", r["group"])]
    total = args.duration + args.tail
    follower = LagFollower([str(args.flood), "broker", *map(str, common), "--drain-only",
                            "--follow", "--drain-timeout", str(total + 5), *groups])
    producer = subprocess.Popen([str(args.flood), "broker", *map(str, common), "--rate",
                                 args.ramp, "--duration", str(args.duration), "--no-drain",
                                 "--out", str(res / "autoscale-load.json"), "-q"])
    ctl = {r["group"]: Controller(r) for r in rules}
    timeline, per = [], {r["group"]: [] for r in rules}
    next_poll = {r["group"]: 0.0 for r in rules}
    t0 = time.time()
    try:
        while (t := time.time() - t0) < total:
            for r in rules:
                g, hs = r["group"], pods[r["group"]]
                lag = follower.lag.get(g, 0)
                if t >= next_poll[g]:
                    next_poll[g] = t + r["poll"]
                    want = ctl[g].decide(t, lag, len(hs))
                    while len(hs) < want:
                        hs.append(sd.start(stack, quotas, SERVICE_OF[g], args.quota))
                    while len(hs) > want:
                        hs.pop().stop()
                per[g].append({"t": round(t, 1), "lag": lag, "replicas": len(hs),
                               "desired": ctl[g].desired})
            timeline.append({"t": round(t, 1),
                             "offered": ramp_at(args.ramp, t) if t <= args.duration else 0})
            print(f"autoscale: [{t:5.1f}s] offered {timeline[-1]['offered']:6.0f}/s  " +
                  "  ".join(f"{g.removeprefix('parley-')} lag {per[g][-1]['lag']} "
                            f"x{per[g][-1]['replicas']}" for g in per), flush=True)
            time.sleep(1.0)
    finally:
        producer.wait(timeout=60)
        follower.proc.terminate()
        follower.proc.wait(timeout=10)
        for hs in pods.values():
            for h in hs:
                h.stop()
        for r in rules:
            stack.start_service(SERVICE_OF[r["group"]])
    return timeline, per


def write_result(args, path, quotas, rules, timeline, per):
    load = json.loads((path.parent / "autoscale-load.json").read_text())
    doc = {"tool": "parley-flood", "scenario": "autoscale", "commit": load.get("commit"),
           "machine": load.get("machine"),
           "settings": {"ramp": args.ramp, "duration_s": args.duration, "tail_s": args.tail,
                        "quota": args.quota, "compress": args.compress,
                        "cgroups": quotas.kind,
                        "rules": rules,
                        "tags": {"ramp": args.ramp, "quota": str(args.quota),
                                 "compress": str(args.compress)}},
           "results": {"produced": load["results"].get("produced"), "timeline": timeline,
                       "groups": [{"group": g, "timeline": v,
                                   "peak_lag": max((x["lag"] for x in v), default=0),
                                   "peak_replicas": max((x["replicas"] for x in v), default=0)}
                                  for g, v in per.items()]}}
    path.write_text(json.dumps(doc, indent=1))
    return doc


def summary(doc, rules):
    rows = ["| group | lagThreshold | min..max | peak lag | peak instances | "
            "first scale-up (s) | back to min (s) |", "|---|---|---|---|---|---|---|"]
    for r, g in zip(rules, doc["results"]["groups"]):
        tl = g["timeline"]
        up = next((x["t"] for x in tl if x["replicas"] > r["min"]), None)
        peak_t = max((x["t"] for x in tl if x["replicas"] == g["peak_replicas"]), default=0)
        down = next((x["t"] for x in tl if x["t"] > peak_t and x["replicas"] == r["min"]), None)
        rows.append(f"| {g['group']} | {r['threshold']} | {r['min']}..{min(r['max'], r['cap'])} "
                    f"| {g['peak_lag']} | {g['peak_replicas']} | {up if up is not None else '-'} "
                    f"| {down if down is not None else '-'} |")
    return "\n".join(rows) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ramp", default="0:100,20:4000,70:4000,85:100")
    ap.add_argument("--duration", type=int, default=110, help="seconds of offered load")
    ap.add_argument("--tail", type=int, default=60, help="seconds watched after the load")
    ap.add_argument("--quota", type=float, default=0.25)
    ap.add_argument("--compress", type=float, default=10.0)
    ap.add_argument("--build-dir", default=os.environ.get("PARLEY_BUILD_DIR", str(REPO / "build")))
    ap.add_argument("--out", default=str(REPO / "docs" / "scaling" / "autoscale.md"))
    args = ap.parse_args()
    args.flood = Path(args.build_dir) / "tools" / "flood" / "parley-flood"
    args.drain_timeout = args.duration + args.tail
    out = Path(args.out)
    res = out.parent / "results"
    res.mkdir(parents=True, exist_ok=True)
    partitions = int(re.search(r"PARLEY_PARTITIONS:-(\d+)", (
        REPO / "infra/kafka/create-topics.sh").read_text()).group(1))
    rules = keda_rules(REPO / "infra/k8s/base/keda.yaml", partitions, args.compress)
    for k, v in {"PARLEY_RATE_PER_S": "1000000", "PARLEY_RATE_BURST": "1000000",
                 "PARLEY_LOGIN_RATE_IP_PER_MIN": "1000000",
                 "PARLEY_LOGIN_RATE_IP_BURST": "1000000"}.items():
        os.environ[k] = v
    data = Path(tempfile.mkdtemp(prefix="parley-autoscale-", dir="/tmp"))
    os.chmod(data, 0o755)
    cfg = ps.Config.from_env(data_dir=data / "data", build_dir=args.build_dir,
                             http_port=ps.free_port(), pg_port=ps.free_port(),
                             kafka_port=ps.free_port(), kafka_controller_port=ps.free_port(),
                             service_ports={n: ps.free_port() for n in ps.SERVICES},
                             echo=False, ready_timeout=90)
    stack, quotas = ps.Stack(cfg), sd.Quotas("parley-autoscale")
    try:
        stack.start_all()
        if not stack.all_ready():
            raise SystemExit(f"stack not ready: {stack.not_ready()} (logs in {cfg.log_dir})")
        timeline, per = run(args, stack, quotas, res, rules)
    finally:
        stack.stop_all()
        quotas.cleanup()
        shutil.rmtree(data, ignore_errors=True)
    result = res / "autoscale.json"
    doc = write_result(args, result, quotas, rules, timeline, per)
    body = out.with_suffix(".report.md")
    subprocess.run([str(args.flood), "report", "--title", "Autoscaling", "--out", str(body),
                    "--svg-dir", str(out.parent), str(result)], check=True)
    # Links relative to the .md, which sits beside the plots.
    plots = "\n".join(l.replace(f"{out.parent}/", "") for l in body.read_text().splitlines()
                      if l.startswith("!["))
    body.unlink()
    out.write_text(
        "# Autoscaling timeline (a stand-in for KEDA and the HPA)\n\n"
        f"Produced by `bench/autoscale_demo.py` (`make autoscale-demo`); raw: "
        f"`results/autoscale.json`. Offered load `{args.ramp}` events/s for {args.duration} s, "
        f"then {args.tail} s without load; every instance in a cgroup at {args.quota} CPU "
        f"({quotas.kind or 'no quota: cgroups not writable'}); time windows of the manifests "
        f"divided by {args.compress:g}, thresholds unchanged.\n\n"
        + summary(doc, rules) + "\n" + plots + "\n")
    print(f"autoscale: wrote {out}", flush=True)


if __name__ == "__main__":
    main()
