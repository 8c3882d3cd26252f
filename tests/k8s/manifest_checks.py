"""Semantic checks over rendered manifests. Each check returns a list of
problems (empty = fine), so the tests can also prove that a broken manifest
is caught."""
from __future__ import annotations

import re

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def key(o):
    return f"{o['kind']}/{o['metadata']['name']}"


def workloads(objs):
    return [o for o in objs if o["kind"] in WORKLOADS]


def pod_spec(o):
    return o["spec"]["template"]["spec"]


def pod_labels(o):
    return o["spec"]["template"].get("metadata", {}).get("labels", {}) or {}


def matches(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) against labels."""
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        k, op, vals = e["key"], e["operator"], e.get("values") or []
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and labels.get(k) in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def containers(o):
    spec = pod_spec(o)
    return [(c, False) for c in spec.get("containers", [])] + \
           [(c, True) for c in spec.get("initContainers", [])]


def check_selectors(objs):
    errs = []
    wl = workloads(objs)
    for o in wl:
        sel = o["spec"].get("selector")
        if o["kind"] == "Job" and sel is None:
            continue
        if not matches(sel, pod_labels(o)):
            errs.append(f"{key(o)}: selector {sel} does not match its pod labels {pod_labels(o)}")
    for o in objs:
        if o["kind"] == "Service":
            sel = o["spec"].get("selector")
            if sel and not any(matches({"matchLabels": sel}, pod_labels(w)) for w in wl):
                errs.append(f"{key(o)}: selector {sel} matches no pod template")
        if o["kind"] == "PodDisruptionBudget":
            if not any(matches(o["spec"]["selector"], pod_labels(w)) for w in wl):
                errs.append(f"{key(o)}: selector matches no pod template")
    return errs


def check_scale_targets(objs, partitions: int):
    errs, targeted = [], {}
    names = {(o["kind"], o["metadata"]["name"]) for o in workloads(objs)}
    for o in objs:
        if o["kind"] not in ("HorizontalPodAutoscaler", "ScaledObject"):
            continue
        ref = o["spec"]["scaleTargetRef"]
        kind = ref.get("kind", "Deployment")
        if (kind, ref["name"]) not in names:
            errs.append(f"{key(o)}: targets {kind}/{ref['name']}, which does not exist")
        if (kind, ref["name"]) in targeted:
            errs.append(f"{key(o)}: {kind}/{ref['name']} is also scaled by {targeted[(kind, ref['name'])]}")
        targeted[(kind, ref["name"])] = key(o)
        if o["kind"] == "HorizontalPodAutoscaler":
            lo, hi = o["spec"].get("minReplicas", 1), o["spec"]["maxReplicas"]
        else:
            lo, hi = o["spec"].get("minReplicaCount", 0), o["spec"].get("maxReplicaCount", 100)
            for t in o["spec"]["triggers"]:
                if t["type"] == "kafka" and hi > partitions:
                    errs.append(f"{key(o)}: maxReplicaCount {hi} > {partitions} partitions "
                                f"of {t['metadata'].get('topic')}: extra consumers would idle")
        if lo > hi:
            errs.append(f"{key(o)}: min {lo} > max {hi}")
    return errs


def _port_names(o):
    out = {}
    for c, _ in containers(o):
        for p in c.get("ports", []):
            out[p["containerPort"]] = p.get("name")
            if p.get("name"):
                out[p["name"]] = p["containerPort"]
    return out


def check_service_ports(objs):
    errs = []
    wl = workloads(objs)
    for s in (o for o in objs if o["kind"] == "Service" and o["spec"].get("selector")):
        pods = [w for w in wl if matches({"matchLabels": s["spec"]["selector"]}, pod_labels(w))]
        for p in s["spec"]["ports"]:
            target = p.get("targetPort", p["port"])
            for w in pods:
                if target not in _port_names(w):
                    errs.append(f"{key(s)} port {p['port']} -> targetPort {target!r}: "
                                f"no such container port in {key(w)}")
    return errs


def check_containers(objs):
    errs = []
    for o in workloads(objs):
        spec = pod_spec(o)
        psc = spec.get("securityContext", {}) or {}
        for c, init in containers(o):
            name = f"{key(o)} container {c['name']}"
            long_running = o["kind"] != "Job" and not init
            if long_running:
                for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                    if probe not in c:
                        errs.append(f"{name}: no {probe}")
                    else:
                        pr = c[probe]
                        port = (pr.get("httpGet") or pr.get("tcpSocket") or {}).get("port")
                        if port is not None and port not in _port_names(o):
                            errs.append(f"{name}: {probe} port {port!r} is not a container port")
            res = c.get("resources") or {}
            for kind in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in (res.get(kind) or {}):
                        errs.append(f"{name}: no resources.{kind}.{r}")
            sc = c.get("securityContext") or {}
            if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
                errs.append(f"{name}: runAsNonRoot is not set")
            uid = sc.get("runAsUser", psc.get("runAsUser"))
            if uid == 0:
                errs.append(f"{name}: runs as uid 0")
            if sc.get("readOnlyRootFilesystem") is not True:
                errs.append(f"{name}: readOnlyRootFilesystem is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                errs.append(f"{name}: allowPrivilegeEscalation is not false")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                errs.append(f"{name}: capabilities are not all dropped")
            if sc.get("privileged"):
                errs.append(f"{name}: privileged")
    return errs


# -- NetworkPolicies ----------------------------------------------------------

def _peer_allows(peer, src_labels, src_ns, pol_ns):
    if "ipBlock" in peer:
        return False
    ns_sel, pod_sel = peer.get("namespaceSelector"), peer.get("podSelector")
    if ns_sel is not None:
        ns_ok = matches(ns_sel, {"kubernetes.io/metadata.name": src_ns})
    else:
        ns_ok = src_ns == pol_ns
    pod_ok = True if pod_sel is None else matches(pod_sel, src_labels)
    return ns_ok and pod_ok


def _port_ok(rule, port):
    ports = rule.get("ports")
    return not ports or any(p.get("port") in (port, None) and p.get("protocol", "TCP") == "TCP"
                            for p in ports)


def allowed(policies, src, dst, port, ns="parley"):
    """src/dst: (labels, namespace). Kubernetes semantics: a direction is open
    unless some policy selects the pod for it, then one of those must allow."""
    (sl, sns), (dl, dns) = src, dst

    def direction(pod_labels_, pod_ns, ptype, field, peer_side, peer_labels, peer_ns):
        sel = [p for p in policies if p["metadata"].get("namespace", ns) == pod_ns
               and matches(p["spec"]["podSelector"], pod_labels_)
               and ptype in p["spec"].get("policyTypes", ["Ingress"])]
        if not sel:
            return True
        for p in sel:
            for rule in p["spec"].get(field) or []:
                peers = rule.get(peer_side)
                if peers is None or any(_peer_allows(x, peer_labels, peer_ns, pod_ns)
                                        for x in peers):
                    if _port_ok(rule, port):
                        return True
        return False

    egress = sns != ns or direction(sl, sns, "Egress", "egress", "to", dl, dns)
    ingress = dns != ns or direction(dl, dns, "Ingress", "ingress", "from", sl, sns)
    return egress and ingress


def pods_by_name(objs):
    return {w["metadata"]["name"]: pod_labels(w) for w in workloads(objs)}


def check_flows(objs, need, deny, extra_pods=None, ns="parley"):
    """need/deny: (src, dst, port); src/dst a workload name, an extra pod name,
    or 'ns:<namespace>' for any pod in another namespace."""
    policies = [o for o in objs if o["kind"] == "NetworkPolicy"]
    pods = pods_by_name(objs)
    pods.update(extra_pods or {})

    def ep(name):
        if name.startswith("ns:"):
            return ({}, name[3:])
        assert name in pods, f"no pod template {name}"
        v = pods[name]
        return v if isinstance(v, tuple) else (v, ns)

    errs = []
    for s, d, p in need:
        if not allowed(policies, ep(s), ep(d), p, ns):
            errs.append(f"NetworkPolicies block a needed flow {s} -> {d}:{p}")
    for s, d, p in deny:
        if allowed(policies, ep(s), ep(d), p, ns):
            errs.append(f"NetworkPolicies allow a flow the architecture does not have: {s} -> {d}:{p}")
    return errs


def pinned_partitions(create_topics_sh: str) -> int:
    m = re.search(r"parts=\$\{PARLEY_PARTITIONS:-(\d+)\}", create_topics_sh)
    assert m, "create-topics.sh no longer pins the partition count the way tests expect"
    return int(m.group(1))


def script_topics(create_topics_sh: str) -> dict:
    """create-topics.sh -> {env var: (default topic name, {config: value})},
    from its `var=${PARLEY_X_TOPIC:-name}` lines and `create "$var" --config
    k=v ...` calls (backslash continuations joined)."""
    text = create_topics_sh.replace("\\\n", " ")
    names = {m[0]: (m[1], m[2]) for m in
             re.findall(r"^(\w+)=\$\{(PARLEY_\w+_TOPIC):-([\w.]+)\}", text, re.M)}
    out = {}
    for var, args in re.findall(r'^create "\$(\w+)"(.*)$', text, re.M):
        env, default = names[var]
        out[env] = (default, dict(re.findall(r"--config ([\w.]+)=(\S+)", args)))
    assert out, "create-topics.sh no longer creates topics the way tests expect"
    return out


def check_topics(objs, script: dict, partitions: int):
    """Every topic parley-config names has a KafkaTopic with the pinned
    partitions, the script's configs and min.insync.replicas >= 2; every
    Kafka-lag ScaledObject stays within its topic's partitions."""
    errs = []
    cm = next(o for o in objs if o["kind"] == "ConfigMap"
              and o["metadata"]["name"] == "parley-config")["data"]
    topics = {o["spec"].get("topicName", o["metadata"]["name"]): o
              for o in objs if o["kind"] == "KafkaTopic"}
    named = {k: v for k, v in cm.items() if re.fullmatch(r"PARLEY_\w+_TOPIC", k)}
    for env in script:
        if env not in named:
            errs.append(f"parley-config does not name {env}, which create-topics.sh creates")
    for env, name in named.items():
        t = topics.get(name)
        if t is None:
            errs.append(f"{env}={name}: no KafkaTopic")
            continue
        spec, cfg = t["spec"], t["spec"].get("config") or {}
        if spec.get("partitions") != partitions:
            errs.append(f"KafkaTopic {name}: partitions {spec.get('partitions')} != {partitions}")
        if int(cfg.get("min.insync.replicas", 0)) < 2 or spec.get("replicas", 0) < 3:
            errs.append(f"KafkaTopic {name}: wants replicas 3 and min.insync.replicas 2")
        for k, v in (script.get(env, (None, {}))[1]).items():
            if str(cfg.get(k)) != v:
                errs.append(f"KafkaTopic {name}: {k}={cfg.get(k)!r}, create-topics.sh has {v}")
    for o in objs:
        if o["kind"] != "ScaledObject":
            continue
        for t in o["spec"]["triggers"]:
            if t["type"] != "kafka":
                continue
            topic = topics.get(t["metadata"].get("topic"))
            hi = o["spec"].get("maxReplicaCount", 100)
            if topic is None:
                errs.append(f"{key(o)}: topic {t['metadata'].get('topic')} has no KafkaTopic")
            elif hi > topic["spec"]["partitions"]:
                errs.append(f"{key(o)}: maxReplicaCount {hi} > {topic['spec']['partitions']} "
                            f"partitions of {t['metadata']['topic']}")
    return errs
