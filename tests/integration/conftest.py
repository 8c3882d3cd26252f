"""Integration fixtures: one real stack (Postgres, Kafka 4.3.1, every
service, nginx) per test session, started with the same supervisor as
`make run`, on free ports in a throwaway data directory."""
import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "infra" / "local"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import parley_stack as ps  # noqa: E402
from parley_client import Api  # noqa: E402


def _ports(n):
    out = set()
    while len(out) < n:
        out.add(ps.free_port())
    return list(out)


def _test_env():
    """Settings every test stack runs with (the caller's environment wins)."""
    # Tests send in bursts far above a person's rate; the limiter has unit tests.
    os.environ.setdefault("PARLEY_RATE_PER_S", "10000")
    os.environ.setdefault("PARLEY_RATE_BURST", "10000")
    # Every test logs in from 127.0.0.1 through nginx; test_accounts.py
    # checks the login limits on an auth instance of its own.
    os.environ.setdefault("PARLEY_LOGIN_RATE_IP_PER_MIN", "1000000")
    os.environ.setdefault("PARLEY_LOGIN_RATE_IP_BURST", "1000000")
    os.environ.setdefault("PARLEY_LOGIN_RATE_ACCOUNT_PER_MIN", "1000000")
    os.environ.setdefault("PARLEY_LOGIN_RATE_ACCOUNT_BURST", "1000000")
    os.environ.setdefault("PARLEY_UPLOAD_RATE_BURST", "100000")
    # Seal archive segments quickly so tests see them.
    os.environ.setdefault("PARLEY_ARCHIVE_SEGMENT_MS", "1000")
    # Run the retention jobs every second, in small snapshots (test_tiering).
    os.environ.setdefault("PARLEY_RETENTION_INTERVAL_MS", "1000")
    os.environ.setdefault("PARLEY_RETENTION_BATCH", "40")
    os.environ.setdefault("PARLEY_PRESENCE_TTL_MS", "4000")  # crashed pusher -> offline fast
    # Sanitizer findings in a service must fail the run, not scroll by.
    os.environ.setdefault("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
    os.environ.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")


@contextlib.contextmanager
def private_stack(**overrides):
    """A whole stack on free ports in a throwaway directory; overrides go
    to ps.Config (e.g. a fault proxy's ports, see test_netfaults.py). On
    exit every service is stopped with SIGTERM and any sanitizer report or
    unclean exit fails the caller."""
    # The postgres user must traverse the data dir, so not pytest's 0700 tmp.
    data = Path(tempfile.mkdtemp(prefix="parley-it-",
                                 dir=os.environ.get("PARLEY_IT_TMPDIR", "/tmp")))
    os.chmod(data, 0o755)
    http, pg, kafka, ctrl, *svc = _ports(4 + len(ps.SERVICES))
    kw = dict(data_dir=data / "data", http_port=http, pg_port=pg, kafka_port=kafka,
              kafka_controller_port=ctrl, echo=bool(os.environ.get("PARLEY_IT_ECHO")),
              service_ports=dict(zip(ps.SERVICES, svc)), ready_timeout=90, stop_timeout=15)
    kw.update(overrides)
    cfg = ps.Config.from_env(**kw)
    _test_env()
    s = ps.Stack(cfg)
    try:
        s.start_all()
        if not s.all_ready():
            raise RuntimeError(f"stack not ready: {s.not_ready()}; logs in {cfg.log_dir}")
        yield s
    finally:
        s.stop_all()
        findings = _sanitizer_findings(cfg.log_dir) + _unclean_exits(s)
        if os.environ.get("PARLEY_IT_KEEP") or findings:
            print(f"kept {data}")
        else:
            shutil.rmtree(data, ignore_errors=True)
    assert not findings, "sanitizer reports in service logs:\n" + "\n".join(findings)


@pytest.fixture(scope="session")
def stack():
    with private_stack() as s:
        yield s


def _unclean_exits(stack):
    """Every service must shut down cleanly (exit 0) on SIGTERM."""
    return [f"{h.name} exited {h.last_exit} on SIGTERM" for h in stack.handles
            if h.name.split("-")[0] in ps.SERVICES and h.last_exit not in ("0", 0)]


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def _sanitizer_findings(log_dir):
    out = []
    for log in sorted(Path(log_dir).glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if any(m in line for m in SANITIZER_MARKS):
                out.append(f"{log.name}: {line.strip()}")
    return out[:50]


@pytest.fixture(scope="session")
def base_url(stack):
    return stack.config.public_url


@pytest.fixture
def api(base_url):
    return Api(base_url)
