"""Smoke runs of every tools/flood scenario against the session's stack:
each runs for a second or two and must leave a well-formed result file.
No timing assertions: the figures belong to benchmarks, not to tests."""
import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def flood():
    build = Path(os.environ.get("PARLEY_BUILD_DIR") or REPO / "build")
    exe = build / "tools" / "flood" / "parley-flood"
    if not exe.exists():
        pytest.fail(f"{exe} not built")
    return exe


def run(flood, tmp_path, scenario, *args, timeout=180):
    out = tmp_path / f"{scenario}.json"
    proc = subprocess.run([str(flood), scenario, *map(str, args), "--out", str(out), "-q"],
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["tool"] == "parley-flood" and doc["scenario"] == scenario
    assert doc["machine"]["cpus"] >= 1 and doc["commit"]
    return out, doc


def no_errors(doc, *allowed):
    errs = {k: v for k, v in doc["results"]["errors"].items() if v and k not in allowed}
    assert not errs, errs


def test_help_documents_every_scenario(flood):
    text = subprocess.run([str(flood), "--help"], capture_output=True, text=True,
                          check=True).stdout
    for word in ("chat", "broker", "connections", "history", "report", "--rate"):
        assert word in text


def test_refuses_targets_off_loopback(flood):
    proc = subprocess.run([str(flood), "chat", "--url", "http://10.0.0.1:80"],
                          capture_output=True, text=True, timeout=10)
    assert proc.returncode == 2


def test_chat(flood, tmp_path, stack):
    _, doc = run(flood, tmp_path, "chat", "--url", stack.config.public_url,
                 "--ws-url", f"ws://127.0.0.1:{stack.config.service_port('pusher')}/api/v1/ws",
                 "--users", 6, "--clients", 12, "--src-addrs", 4, "--rate", 20,
                 "--duration", 2, "--grace", 5, "--seed", 7)
    r = doc["results"]
    assert r["clients_ready"] == 12
    assert r["sends_accepted"] == r["sends_attempted"] > 0
    assert r["deliveries"] == r["deliveries_expected"] > 0
    assert r["lost_deliveries"] == 0 and r["duplicates"] == 0
    assert r["e2e_latency"]["count"] == r["deliveries"]
    assert len(doc["timeline"]) >= 2
    no_errors(doc)


def test_chat_resilient_clients_flap_and_resume(flood, tmp_path, stack):
    """--resilient --flap-every: every socket drops every half second and
    comes back with resume, and still every acknowledged send reaches every
    expected socket exactly once."""
    _, doc = run(flood, tmp_path, "chat", "--url", stack.config.public_url,
                 "--ws-url", f"ws://127.0.0.1:{stack.config.service_port('pusher')}/api/v1/ws",
                 "--users", 4, "--conversations", 3, "--clients", 8, "--src-addrs", 2,
                 "--rate", 20, "--duration", 4, "--grace", 15, "--resilient",
                 "--flap-every", 0.5, "--seed", 11)
    r = doc["results"]
    assert doc["settings"]["resilient"] == 1 and doc["settings"]["flap_every_s"] == 0.5
    assert r["sends_accepted"] == r["sends_attempted"] > 0
    assert r["resilient"]["flaps"] > 0 and r["resilient"]["reconnects"] > 0, r["resilient"]
    assert (r["lost_deliveries"], r["duplicates"], r["resilient"]["resume_gaps"]) == (0, 0, 0), r
    assert r["deliveries"] == r["deliveries_expected"]


def test_flap_needs_resilient(flood):
    proc = subprocess.run([str(flood), "chat", "--flap-every", "1"], capture_output=True,
                          text=True, timeout=10)
    assert proc.returncode == 2 and "--resilient" in proc.stderr



def test_broker(flood, tmp_path, stack):
    _, doc = run(flood, tmp_path, "broker", "--url", stack.config.public_url,
                 "--brokers", stack.config.kafka_brokers, "--backlog", 300,
                 "--conversations", 8, "--drain-timeout", 90, "--tag", "instances=1")
    r = doc["results"]
    assert r["partitions"] == 32
    assert r["produced"] == r["produce_acked"] == 300
    g = r["groups"][0]
    assert g["group"] == "parley-history-projector"
    assert g["drained_completely"] == 1 and g["end_lag"] == 0
    assert doc["settings"]["tags"] == {"instances": "1"}
    no_errors(doc)


def test_connections(flood, tmp_path, stack):
    _, doc = run(flood, tmp_path, "connections", "--url", stack.config.public_url,
                 "--ws-url", f"ws://127.0.0.1:{stack.config.service_port('pusher')}/api/v1/ws",
                 "--users", 3, "--clients", 30, "--hold", 0.5)
    r = doc["results"]
    assert r["clients_ready"] == 30
    assert r["pushers_measured"] == 1 and r["pusher_rss_kib_after"] > 0
    no_errors(doc)


def test_history(flood, tmp_path, stack):
    _, doc = run(flood, tmp_path, "history", "--url", stack.config.public_url,
                 "--users", 3, "--messages", 60, "--rate", 30, "--duration", 2)
    r = doc["results"]
    assert r["seeded_messages"] == 60 and r["positions"] == 60
    assert r["reads_ok"] > 0
    assert sum(r["reads"][k]["count"] for k in ("recent", "deep", "search", "list")) == r["reads_ok"]
    no_errors(doc)


def test_report(flood, tmp_path, stack):
    files = [run(flood, tmp_path, "broker", "--url", stack.config.public_url,
                 "--brokers", stack.config.kafka_brokers, "--backlog", 50, "--conversations", 4,
                 "--drain-timeout", 60, "--tag", f"instances={k}")[0].rename(tmp_path / f"b{k}.json")
             for k in (1, 2)]
    md = tmp_path / "report.md"
    subprocess.run([str(flood), "report", "--out", str(md), *map(str, files)], check=True,
                   capture_output=True, timeout=30)
    text = md.read_text()
    assert "consumer-group drain" in text
    svgs = sorted((tmp_path / "plots").glob("*.svg"))
    assert {p.name for p in svgs} >= {"broker-parley-history-projector-lag.svg",
                                      "broker-parley-history-projector-scaling.svg"}
    assert all(p.read_text().startswith("<svg") for p in svgs)
    html = tmp_path / "report.html"
    subprocess.run([str(flood), "report", "--format", "html", "--out", str(html),
                    *map(str, files)], check=True, capture_output=True, timeout=30)
    assert "<img" in html.read_text()
