"""Offline checks of infra/k8s: every overlay renders, every object passes
the Kubernetes API schema (kubernetes-validate) or its operator's CRD schema
(../shared/k8s-crds), and the semantic checks of manifest_checks hold."""
import copy
import json
import re
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

import manifest_checks as mc
from conftest import REPO, crd_dir

K8S_VERSIONS = ["1.30.0", "1.35.0"]   # oldest we support (preStop sleep) and a current one
CRD_KINDS = {("kafka.strimzi.io", "Kafka"), ("kafka.strimzi.io", "KafkaNodePool"),
             ("kafka.strimzi.io", "KafkaTopic"), ("keda.sh", "ScaledObject"),
             ("keda.sh", "TriggerAuthentication"), ("postgresql.cnpg.io", "Cluster")}
PARTITIONS = mc.pinned_partitions((REPO / "infra/kafka/create-topics.sh").read_text())
APPS = ["parley-auth", "parley-command", "parley-read", "parley-pusher",
        "parley-history-projector", "parley-archiver", "parley-media", "parley-web"]
SCRIPT_TOPICS = mc.script_topics((REPO / "infra/kafka/create-topics.sh").read_text())


def all_objects(rendered):
    return [(name, o) for name, objs in rendered.items() for o in objs]


def group_of(o):
    return o["apiVersion"].split("/")[0] if "/" in o["apiVersion"] else ""


# -- rendering and schemas ------------------------------------------------------

def test_every_overlay_renders(rendered):
    for name in ("dev", "prod", "flood"):
        assert rendered[name], name
    kinds = {o["kind"] for o in rendered["dev"]}
    assert {"Deployment", "Service", "StatefulSet", "Ingress", "HorizontalPodAutoscaler",
            "ScaledObject", "NetworkPolicy", "PodDisruptionBudget"} <= kinds
    prod = {o["kind"] for o in rendered["prod"]}
    assert {"Kafka", "KafkaNodePool", "KafkaTopic", "Cluster"} <= prod
    assert "StatefulSet" not in prod, "prod runs Kafka and Postgres through operators"


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_core_objects_match_kubernetes_schemas(rendered, version):
    checked, errors = 0, []
    for name, o in all_objects(rendered):
        if (group_of(o), o["kind"]) in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(o, version, strict=True)
            checked += 1
        except kubernetes_validate.ValidationError as e:
            errors.append(f"{name} {mc.key(o)}: {e.message} at {list(e.path)}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"{name} {mc.key(o)}: no schema for {o['apiVersion']} {o['kind']}")
    assert not errors, "\n".join(errors)
    assert checked > 60


def _openapi_to_jsonschema(s):
    """CRD openAPIV3Schema -> JSON Schema; unknown fields rejected unless the
    CRD preserves them (the API server would silently prune them)."""
    if isinstance(s, list):
        return [_openapi_to_jsonschema(x) for x in s]
    if not isinstance(s, dict):
        return s
    out = {k: _openapi_to_jsonschema(v) for k, v in s.items()
           if not k.startswith("x-kubernetes-") and k != "nullable"}
    if s.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if s.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if ("properties" in s and "additionalProperties" not in s
            and not s.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


@pytest.fixture(scope="module")
def crd_schemas():
    schemas = {}
    for f in crd_dir().rglob("*.yaml"):
        for doc in yaml.safe_load_all(f.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            g, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
            for v in doc["spec"]["versions"]:
                sch = _openapi_to_jsonschema(v["schema"]["openAPIV3Schema"])
                sch["properties"]["metadata"] = {"type": "object"}
                schemas[(f"{g}/{v['name']}", kind)] = (sch, v.get("served", True))
    assert schemas, "no CRDs found"
    return schemas


def test_custom_resources_match_crd_schemas(rendered, crd_schemas):
    seen, errors = set(), []
    for name, o in all_objects(rendered):
        if (group_of(o), o["kind"]) not in CRD_KINDS:
            continue
        entry = crd_schemas.get((o["apiVersion"], o["kind"]))
        if entry is None:
            errors.append(f"{name} {mc.key(o)}: no CRD schema for {o['apiVersion']}")
            continue
        schema, served = entry
        if not served:
            errors.append(f"{name} {mc.key(o)}: {o['apiVersion']} is not served")
        v = jsonschema.Draft7Validator(schema)
        for e in v.iter_errors(o):
            errors.append(f"{name} {mc.key(o)}: {e.message} at {list(e.absolute_path)}")
        seen.add(o["kind"])
    assert not errors, "\n".join(errors)
    assert {"Kafka", "KafkaNodePool", "KafkaTopic", "Cluster", "ScaledObject"} <= seen


def test_crd_validation_catches_a_bad_resource(rendered, crd_schemas):
    topic = copy.deepcopy(next(o for o in rendered["prod"] if o["kind"] == "KafkaTopic"))
    topic["spec"]["partitions"] = "thirty-two"
    topic["spec"]["replicaz"] = 3
    schema, _ = crd_schemas[(topic["apiVersion"], "KafkaTopic")]
    assert len(list(jsonschema.Draft7Validator(schema).iter_errors(topic))) >= 2


# -- semantics ---------------------------------------------------------------------

@pytest.mark.parametrize("overlay", ["dev", "prod", "flood"])
def test_selectors_match_pod_labels(rendered, overlay):
    assert mc.check_selectors(rendered[overlay]) == []


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_autoscalers_target_existing_workloads_within_partitions(rendered, overlay):
    objs = rendered[overlay]
    assert mc.check_scale_targets(objs, PARTITIONS) == []
    hpas = {o["spec"]["scaleTargetRef"]["name"] for o in objs
            if o["kind"] == "HorizontalPodAutoscaler"}
    assert {"parley-command", "parley-read", "parley-pusher"} <= hpas
    so = [o for o in objs if o["kind"] == "ScaledObject"]
    groups = {t["metadata"]["consumerGroup"] for o in so for t in o["spec"]["triggers"]
              if t["type"] == "kafka"}
    # Every consumer group in the code has a ScaledObject, at the partition count.
    code = "\n".join(p.read_text() for p in (REPO / "cmd").rglob("*.c"))
    code_groups = set(re.findall(r'"group\.id",\s*"(parley-[a-z-]+)"', code)) | \
        set(re.findall(r'group_consumer_new\([^;]*?"(parley-[a-z-]+)"', code))
    # The pushers and parley-admin replay assign partitions themselves; their
    # group.id only satisfies librdkafka and never commits: no lag to scale on.
    code_groups = {g for g in code_groups
                   if not g.endswith("-unused") and not g.startswith("parley-admin")}
    assert code_groups and code_groups <= groups, (code_groups, groups)
    for o in so:
        assert o["spec"]["maxReplicaCount"] == PARTITIONS
        for t in o["spec"]["triggers"]:
            assert t["metadata"]["topic"] == "parley.events"
    brokers = next(o for o in objs if o["kind"] == "ConfigMap"
                   and o["metadata"]["name"] == "parley-config")["data"]["PARLEY_KAFKA_BROKERS"]
    for o in so:
        boot = o["spec"]["triggers"][0]["metadata"]["bootstrapServers"]
        assert boot.split(".")[0].split(":")[0] == brokers.split(":")[0], (boot, brokers)


def test_pusher_hpa_scales_on_open_sockets(rendered):
    hpa = next(o for o in rendered["prod"] if o["kind"] == "HorizontalPodAutoscaler"
               and o["metadata"]["name"] == "parley-pusher")
    pods = [m for m in hpa["spec"]["metrics"] if m["type"] == "Pods"]
    assert pods and pods[0]["pods"]["metric"]["name"] == "pusher_open_sockets"
    assert '"pusher_open_sockets"' in (REPO / "cmd/pusher/pusher_ws.c").read_text()


@pytest.mark.parametrize("overlay", ["dev", "prod", "flood"])
def test_service_ports_match_container_ports(rendered, overlay):
    assert mc.check_service_ports(rendered[overlay]) == []


@pytest.mark.parametrize("overlay", ["dev", "prod", "flood"])
def test_every_container_has_probes_resources_security(rendered, overlay):
    assert mc.check_containers(rendered[overlay]) == []


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_deployment_has_a_pdb_and_spreads(rendered, overlay):
    objs = rendered[overlay]
    pdbs = [o for o in objs if o["kind"] == "PodDisruptionBudget"]
    for d in (o for o in objs if o["kind"] == "Deployment"):
        assert any(mc.matches(p["spec"]["selector"], mc.pod_labels(d)) for p in pdbs), mc.key(d)
        keys = {c["topologyKey"] for c in mc.pod_spec(d).get("topologySpreadConstraints", [])}
        assert {"kubernetes.io/hostname", "topology.kubernetes.io/zone"} <= keys, mc.key(d)


def test_pusher_drain_fits_grace_period(rendered):
    for overlay in ("dev", "prod"):
        d = next(o for o in rendered[overlay] if o["metadata"]["name"] == "parley-pusher"
                 and o["kind"] == "Deployment")
        c = mc.pod_spec(d)["containers"][0]
        pre = c["lifecycle"]["preStop"]["sleep"]["seconds"]
        drain = 3   # docs/architecture.md: closes with 1001, waits up to 3 s
        assert mc.pod_spec(d)["terminationGracePeriodSeconds"] >= pre + drain + 5


def test_images_are_mapped_in_overlays(rendered):
    for overlay, objs in rendered.items():
        for w in mc.workloads(objs):
            for c, _ in mc.containers(w):
                assert "/" in c["image"] and ":" in c["image"], (overlay, mc.key(w), c["image"])
    flood = [c for w in mc.workloads(rendered["flood"]) for c, _ in mc.containers(w)]
    assert all("runtime" in c["image"] and c["command"] == ["/usr/local/bin/parley-flood"]
               for c in flood)


def _flag_values(args, flag):
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == flag]


def test_flood_jobs_target_only_allowed_in_cluster_services(rendered):
    """parley-flood refuses non-loopback hosts unless named with --allow-host:
    every Job must name exactly the hosts it targets, and only Services of
    the overlays (Strimzi's bootstrap Service is named after the Kafka)."""
    services = {o["metadata"]["name"] for ov in ("dev", "prod") for o in rendered[ov]
                if o["kind"] == "Service"}
    services |= {f"{o['metadata']['name']}-kafka-bootstrap" for o in rendered["prod"]
                 if o["kind"] == "Kafka"}
    brokers = {ov: next(o for o in rendered[ov] if o["kind"] == "ConfigMap" and
                        o["metadata"]["name"] == "parley-config")["data"]["PARLEY_KAFKA_BROKERS"]
               for ov in ("dev", "prod")}
    jobs = [w for w in mc.workloads(rendered["flood"]) if w["kind"] == "Job"]
    assert len(jobs) >= 2
    for job in jobs:
        c = mc.pod_spec(job)["containers"][0]
        args = c["args"]
        allowed = set(_flag_values(args, "--allow-host"))
        assert allowed and allowed <= services, (mc.key(job), allowed - services)
        targets = [re.match(r"\w+://([^:/]+)", u).group(1)
                   for u in _flag_values(args, "--url") + _flag_values(args, "--ws-url")]
        for b in _flag_values(args, "--brokers"):
            if b == "$(PARLEY_KAFKA_BROKERS)":
                env = {e["name"]: e for e in c.get("env", [])}
                ref = env["PARLEY_KAFKA_BROKERS"]["valueFrom"]["configMapKeyRef"]
                assert ref == {"name": "parley-config", "key": "PARLEY_KAFKA_BROKERS"}
                bl = list(brokers.values())
            else:
                bl = [b]
            targets += [h.split(":")[0] for x in bl for h in x.split(",")]
        assert targets, mc.key(job)
        assert set(targets) <= allowed, (mc.key(job), set(targets) - allowed)


def test_config_keys_are_documented_settings(rendered):
    readme = (REPO / "README.md").read_text()
    cm = next(o for o in rendered["dev"] if o["kind"] == "ConfigMap"
              and o["metadata"]["name"] == "parley-config")
    for k in cm["data"]:
        assert f"`{k}`" in readme, f"{k} is not in README's settings table"


def test_secrets_are_referenced_not_inlined(rendered):
    for overlay in ("dev", "prod"):
        for w in mc.workloads(rendered[overlay]):
            for c, _ in mc.containers(w):
                for e in c.get("env", []):
                    if re.search(r"PASSWORD|SECRET|KEY$", e["name"]) and "value" in e:
                        assert e["name"].endswith("_FILE"), (overlay, mc.key(w), e["name"])


# -- Kafka and Postgres --------------------------------------------------------------

def test_prod_kafka_is_ha_and_pins_partitions(rendered):
    objs = rendered["prod"]
    kafka = next(o for o in objs if o["kind"] == "Kafka")
    cfg = kafka["spec"]["kafka"]["config"]
    assert kafka["spec"]["kafka"]["version"] == "4.3.1"
    assert cfg["min.insync.replicas"] == 2 and cfg["default.replication.factor"] == 3
    assert cfg["unclean.leader.election.enable"] is False
    pool = next(o for o in objs if o["kind"] == "KafkaNodePool")
    assert pool["spec"]["replicas"] == 3 and set(pool["spec"]["roles"]) == {"controller", "broker"}
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
    topics = {o["spec"]["topicName"]: o for o in objs if o["kind"] == "KafkaTopic"}
    assert set(topics) == {"parley.events", "parley.sessions", "parley.ephemeral",
                           "parley.presence"}
    for t in topics.values():
        assert t["spec"]["partitions"] == PARTITIONS
        assert t["spec"]["replicas"] == 3 and t["spec"]["config"]["min.insync.replicas"] == 2
    assert topics["parley.events"]["spec"]["config"]["retention.ms"] == -1


def test_every_configured_topic_has_a_kafka_topic_in_prod(rendered):
    assert mc.check_topics(rendered["prod"], SCRIPT_TOPICS, PARTITIONS) == []
    # ... and the config names every topic the code reads.
    code = "\n".join(p.read_text() for p in list((REPO / "cmd").rglob("*.c"))
                     + list((REPO / "lib").rglob("*.c")))
    read = set(re.findall(r'"(PARLEY_[A-Z]+_TOPIC)"', code))
    cm = next(o for o in rendered["prod"] if o["kind"] == "ConfigMap"
              and o["metadata"]["name"] == "parley-config")["data"]
    assert read and read <= set(cm), read - set(cm)
    assert set(SCRIPT_TOPICS) == read, "create-topics.sh and the code disagree on topics"


def test_dev_kafka_creates_every_configured_topic(rendered):
    """The dev broker's entrypoint runs create-topics.sh; it must get the
    topic names and the partition count from the same parley-config."""
    objs = rendered["dev"]
    cm = next(o for o in objs if o["kind"] == "ConfigMap"
              and o["metadata"]["name"] == "parley-config")["data"]
    kafka = next(o for o in objs if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "kafka")
    env = {e["name"]: e for e in mc.pod_spec(kafka)["containers"][0]["env"]}
    for k in [k for k in cm if k.endswith("_TOPIC")] + ["PARLEY_PARTITIONS"]:
        assert k in SCRIPT_TOPICS or k == "PARLEY_PARTITIONS", f"create-topics.sh ignores {k}"
        ref = env.get(k, {}).get("valueFrom", {}).get("configMapKeyRef", {})
        assert ref == {"name": "parley-config", "key": k}, f"dev kafka does not take {k}"


def test_every_service_gets_the_same_hygiene(rendered):
    """archiver and media came later than the others: the same checks for
    all of them (probes and security are in check_containers)."""
    for overlay in ("dev", "prod"):
        objs = rendered[overlay]
        deps = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Deployment"}
        pols = [o for o in objs if o["kind"] == "NetworkPolicy"]
        scaled = {o["spec"]["scaleTargetRef"]["name"] for o in objs
                  if o["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")}
        for app in APPS:
            d = deps[app]
            ann = d["spec"]["template"]["metadata"].get("annotations", {})
            port = mc.pod_spec(d)["containers"][0]["ports"][0]["containerPort"]
            if app != "parley-web":   # nginx: no /metrics (ingress-nginx has its own)
                assert ann.get("prometheus.io/scrape") == "true", (overlay, app)
                assert ann.get("prometheus.io/port") == str(port), (overlay, app)
            own = [p for p in pols if p["spec"]["podSelector"].get("matchLabels", {})
                   .get("app.kubernetes.io/name") == app]
            assert own, f"{app}: no NetworkPolicy of its own"
            assert app in scaled or app == "parley-web", f"{app}: no HPA or ScaledObject"


def test_prod_postgres_is_synchronous(rendered):
    c = next(o for o in rendered["prod"] if o["kind"] == "Cluster")
    assert c["spec"]["instances"] >= 3
    sync = c["spec"]["postgresql"]["synchronous"]
    assert sync["number"] >= 1 and sync.get("dataDurability") == "required"
    cm = next(o for o in rendered["prod"] if o["kind"] == "ConfigMap"
              and o["metadata"]["name"] == "parley-config")
    assert f"host={c['metadata']['name']}-rw" in cm["data"]["PARLEY_PG_DSN"]


def test_dev_stateful_sets_keep_data(rendered):
    for name in ("kafka", "postgres"):
        s = next(o for o in rendered["dev"] if o["kind"] == "StatefulSet"
                 and o["metadata"]["name"] == name)
        claims = {v["metadata"]["name"] for v in s["spec"]["volumeClaimTemplates"]}
        mounts = {m["name"] for m in mc.pod_spec(s)["containers"][0]["volumeMounts"]}
        assert claims & mounts, name


# -- NetworkPolicies ------------------------------------------------------------------

NEEDED = [
    ("ns:ingress-nginx", "parley-web", 8080), ("ns:ingress-nginx", "parley-auth", 8081),
    ("ns:ingress-nginx", "parley-pusher", 8084),
    ("parley-web", "parley-auth", 8081), ("parley-web", "parley-command", 8082),
    ("parley-web", "parley-read", 8083), ("parley-web", "parley-pusher", 8084),
    ("parley-auth", "postgres", 5432), ("parley-command", "postgres", 5432),
    ("parley-read", "postgres", 5432), ("parley-pusher", "postgres", 5432),
    ("parley-history-projector", "postgres", 5432),
    ("parley-command", "kafka", 9092), ("parley-pusher", "kafka", 9092),
    ("parley-history-projector", "kafka", 9092), ("ns:keda", "kafka", 9092),
    ("parley-archiver", "kafka", 9092), ("parley-archiver", "postgres", 5432),
    ("ns:monitoring", "parley-archiver", 8087),
    ("parley-web", "parley-media", 8086), ("parley-media", "postgres", 5432),
    ("ns:monitoring", "parley-media", 8086), ("parley-media", "kube-dns", 53),
    ("ns:monitoring", "parley-pusher", 8084), ("ns:monitoring", "parley-history-projector", 8085),
    ("parley-auth", "kube-dns", 53),
]
DENIED = [
    ("parley-web", "postgres", 5432), ("parley-web", "kafka", 9092),
    ("parley-read", "kafka", 9092), ("parley-auth", "kafka", 9092),
    ("ns:ingress-nginx", "postgres", 5432), ("ns:ingress-nginx", "parley-command", 8082),
    ("ns:default", "parley-web", 8080), ("parley-pusher", "parley-auth", 8081),
    ("parley-history-projector", "parley-command", 8082),
    ("ns:ingress-nginx", "parley-history-projector", 8085),
    ("parley-web", "parley-archiver", 8087), ("parley-archiver", "parley-auth", 8081),
    ("parley-media", "kafka", 9092), ("ns:ingress-nginx", "parley-media", 8086),
    ("parley-command", "parley-media", 8086),
]
KUBE_DNS = ({"k8s-app": "kube-dns"}, "kube-system")


def test_dev_network_policies_allow_exactly_the_architecture(rendered):
    errs = mc.check_flows(rendered["dev"], NEEDED, DENIED, {"kube-dns": KUBE_DNS})
    assert errs == [], "\n".join(errs)


def test_prod_network_policies_allow_exactly_the_architecture(rendered):
    objs = rendered["prod"]
    # The operators' pods, with the labels the overlay gives them.
    extra = {"postgres": {"cnpg.io/cluster": "parley-pg", "parley.dev/role": "postgres"},
             "kafka": {"strimzi.io/cluster": "parley-kafka", "parley.dev/role": "kafka"},
             "kube-dns": KUBE_DNS}
    # Strimzi writes the brokers' ingress policy from the listener's peers.
    kafka = next(o for o in objs if o["kind"] == "Kafka")
    listener = kafka["spec"]["kafka"]["listeners"][0]
    strimzi_np = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                  "metadata": {"name": "strimzi-generated", "namespace": "parley"},
                  "spec": {"podSelector": {"matchLabels": {"strimzi.io/cluster": "parley-kafka"}},
                           "policyTypes": ["Ingress"],
                           "ingress": [{"from": listener["networkPolicyPeers"],
                                        "ports": [{"port": listener["port"], "protocol": "TCP"}]}]}}
    errs = mc.check_flows(objs + [strimzi_np], NEEDED, DENIED, extra)
    assert errs == [], "\n".join(errs)
    cnpg = mc.check_flows(objs, [("ns:cnpg-system", "postgres", 8000)], [], extra)
    assert cnpg == []


# -- the checks themselves can fail ------------------------------------------------------

def test_checks_catch_broken_manifests(rendered):
    objs = copy.deepcopy(rendered["dev"])
    dep = {mc.key(o): o for o in objs}
    svc = dep["Service/parley-read"]
    svc["spec"]["selector"] = {"app.kubernetes.io/name": "parley-reed"}
    dep["Service/parley-auth"]["spec"]["ports"][0]["targetPort"] = 9999
    c = mc.pod_spec(dep["Deployment/parley-command"])["containers"][0]
    del c["readinessProbe"]
    c["securityContext"]["readOnlyRootFilesystem"] = False
    del c["resources"]["limits"]
    so = dep["ScaledObject/parley-history-projector"]
    so["spec"]["maxReplicaCount"] = 64
    dep["HorizontalPodAutoscaler/parley-read"]["spec"]["scaleTargetRef"]["name"] = "nope"
    pol = dep["NetworkPolicy/parley-command"]
    pol["spec"]["egress"] = pol["spec"]["egress"][:1]       # drops Kafka
    dep["NetworkPolicy/parley-web"]["spec"]["egress"].append({"to": [
        {"podSelector": {"matchLabels": {"parley.dev/role": "postgres"}}}]})
    dep["NetworkPolicy/postgres"]["spec"]["ingress"][0]["from"].append(
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "parley-web"}}})

    assert any("parley-reed" in e for e in mc.check_selectors(objs))
    assert any("9999" in e for e in mc.check_service_ports(objs))
    errs = mc.check_containers(objs)
    assert any("no readinessProbe" in e for e in errs)
    assert any("readOnlyRootFilesystem" in e for e in errs)
    assert any("limits.cpu" in e for e in errs)
    errs = mc.check_scale_targets(objs, PARTITIONS)
    assert any("maxReplicaCount 64" in e for e in errs)
    assert any("Deployment/nope" in e for e in errs)
    errs = mc.check_flows(objs, NEEDED, DENIED, {"kube-dns": KUBE_DNS})
    assert any("parley-command -> kafka:9092" in e for e in errs)
    assert any("parley-web -> postgres:5432" in e for e in errs)


def test_topic_checks_catch_broken_manifests(rendered):
    objs = copy.deepcopy(rendered["prod"])
    objs = [o for o in objs if not (o["kind"] == "KafkaTopic"
                                    and o["spec"]["topicName"] == "parley.presence")]
    t = {o["spec"]["topicName"]: o for o in objs if o["kind"] == "KafkaTopic"}
    t["parley.events"]["spec"]["partitions"] = 16
    t["parley.sessions"]["spec"]["config"]["retention.ms"] = 1000
    t["parley.ephemeral"]["spec"]["config"]["min.insync.replicas"] = 1
    errs = mc.check_topics(objs, SCRIPT_TOPICS, PARTITIONS)
    assert any("parley.presence: no KafkaTopic" in e for e in errs)
    assert any("partitions 16 != 32" in e for e in errs)
    assert any("maxReplicaCount" in e and "16 partitions" in e for e in errs)
    assert any("retention.ms=1000" in e for e in errs)
    assert any("parley.ephemeral: wants replicas 3" in e for e in errs)


def test_grafana_dashboard_covers_the_signals():
    path = REPO / "infra/k8s/base/observability/parley-dashboard.json"
    dash = json.loads(path.read_text())
    exprs = " ".join(t["expr"] for p in dash["panels"] for t in p["targets"])
    for metric in ("http_requests_total", "http_request_duration_seconds_bucket",
                   "projector_consumer_lag", "pusher_consumer_lag", "pusher_open_sockets",
                   "pusher_delivery_seconds_bucket", "kube_deployment_status_replicas",
                   "archiver_events_total", "media_upload_bytes_total", "parley-archiver"):
        assert metric in exprs, metric
    code = "\n".join(p.read_text() for p in list((REPO / "cmd").rglob("*.c"))
                     + list((REPO / "lib").rglob("*.c")))
    for metric in set(re.findall(r"\b((?:http|pusher|projector|archiver|media)_[a-z_]+?)(?:_bucket)?\b", exprs)):
        assert f'"{metric}"' in code, f"dashboard uses {metric}, which no service exports"
