#!/usr/bin/python3
"""Parley local stack supervisor (Python 3 stdlib only).

CLI:
    python3 infra/local/parley_stack.py run [--infra-only]
    python3 infra/local/parley_stack.py env [SERVICE]     # print env for running a service by hand
    python3 infra/local/parley_stack.py render-nginx      # render + test the nginx config

`run` starts postgres, kafka, the five services and nginx in the foreground and
supervises them: a child that exits is restarted with exponential backoff
(0.5 s doubling to 30 s, reset after 60 s of uptime). Ctrl-C / SIGTERM stops
everything in reverse start order (SIGTERM, SIGKILL after 10 s; postgres gets
SIGINT = fast shutdown). A second Ctrl-C skips the grace period. Data lives in
$PARLEY_DATA_DIR and survives restarts; logs go to $PARLEY_DATA_DIR/../logs.

Python API (pytest fixtures):
    from parley_stack import Config, Stack
    stack = Stack(Config.from_env(data_dir=tmp, http_port=18080))
    stack.start_infra()                       # postgres (+ database) and kafka (+ topics)
    auth = stack.start_service("auth")        # -> ManagedProcess, waits for /readyz
    p2 = stack.start_service("pusher", port=18184)   # a second pusher, instance "pusher-2"
    stack.handle("projector").kill(signal.SIGKILL)   # supervisor restarts it
    stack.start_nginx()
    stack.stop_all()                          # also runs at interpreter exit
"""
from __future__ import annotations

import argparse
import atexit
import datetime
import grp
import os
import pwd
import random
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

# Start order matters: auth first (keys, users), pusher last.
SERVICES: dict[str, str] = {
    "auth": "cmd/auth/parley-auth",
    "projector": "cmd/projector/parley-projector",
    "read": "cmd/read/parley-read",
    "media": "cmd/media/parley-media",
    "command": "cmd/command/parley-command",
    "pusher": "cmd/pusher/parley-pusher",
    "archiver": "cmd/archiver/parley-archiver",
}
DEFAULT_SERVICE_PORTS = {"auth": 8081, "command": 8082, "read": 8083,
                         "pusher": 8084, "projector": 8085, "media": 8086, "archiver": 8087}


class StackError(RuntimeError):
    """Something the stack cannot recover from by itself (bad config, infra down)."""


class StackStopped(RuntimeError):
    """Raised inside a blocking start-up step when a stop was requested."""


# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------

def _env_int(env, key, default):
    raw = env.get(key)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise StackError(f"{key}={raw!r} is not an integer") from None


def _default_pg_bin() -> Path:
    base = Path("/usr/lib/postgresql")
    versions = sorted((p for p in base.glob("*/bin") if (p / "postgres").exists()),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return versions[-1] if versions else base / "15" / "bin"


@dataclass
class Config:
    repo: Path = REPO
    data_dir: Path = REPO / ".parley" / "data"
    build_dir: Path = REPO / "build"
    http_port: int = 8080
    pg_port: int = 5433
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    kafka_data: Optional[Path] = None          # default data_dir/kafka
    # Ports clients are given when something (a test's fault proxy) sits in
    # front: Kafka advertises kafka_advertised_port, services dial
    # pg_client_port. Default: the servers' own ports.
    kafka_advertised_port: Optional[int] = None
    pg_client_port: Optional[int] = None
    service_ports: dict = field(default_factory=lambda: dict(DEFAULT_SERVICE_PORTS))
    pg_bin: Path = field(default_factory=_default_pg_bin)
    kafka_scripts: Path = REPO / "infra" / "kafka"
    ready_timeout: float = 60.0                # per service /readyz wait
    stop_timeout: float = 10.0                 # SIGTERM -> SIGKILL grace
    echo: bool = True                          # mirror child output on stdout

    def __post_init__(self):
        for attr in ("repo", "data_dir", "build_dir", "pg_bin", "kafka_scripts"):
            setattr(self, attr, Path(getattr(self, attr)).absolute())
        if self.kafka_data is not None:
            self.kafka_data = Path(self.kafka_data).absolute()

    @classmethod
    def from_env(cls, env=None, **overrides) -> "Config":
        """Defaults <- PARLEY_* environment <- keyword overrides."""
        env = os.environ if env is None else env
        repo = Path(overrides.pop("repo", REPO))
        ports = dict(DEFAULT_SERVICE_PORTS)
        for name in ports:
            ports[name] = _env_int(env, f"PARLEY_{name.upper()}_PORT", ports[name])
        ports.update(overrides.pop("service_ports", {}) or {})
        kwargs = dict(
            repo=repo,
            data_dir=Path(env.get("PARLEY_DATA_DIR") or repo / ".parley" / "data"),
            build_dir=Path(env.get("PARLEY_BUILD_DIR") or repo / "build"),
            http_port=_env_int(env, "PARLEY_PUBLIC_PORT", 8080),
            pg_port=_env_int(env, "PARLEY_PG_PORT", 5433),
            kafka_port=_env_int(env, "PARLEY_KAFKA_PORT", 9092),
            kafka_controller_port=_env_int(env, "PARLEY_KAFKA_CONTROLLER_PORT", 9093),
            kafka_data=Path(env["PARLEY_KAFKA_DATA"]) if env.get("PARLEY_KAFKA_DATA") else None,
            service_ports=ports,
            kafka_scripts=Path(env.get("PARLEY_KAFKA_SCRIPTS_DIR") or repo / "infra" / "kafka"),
            ready_timeout=float(env.get("PARLEY_READY_TIMEOUT") or 60.0),
        )
        if env.get("PARLEY_PG_BIN"):
            kwargs["pg_bin"] = Path(env["PARLEY_PG_BIN"])
        kwargs.update(overrides)
        return cls(**kwargs)

    # derived paths / values
    @property
    def log_dir(self) -> Path:
        return self.data_dir.parent / "logs"

    @property
    def pg_dir(self) -> Path:
        return self.data_dir / "pg"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def nginx_dir(self) -> Path:
        return self.data_dir / "nginx"

    @property
    def kafka_data_dir(self) -> Path:
        return self.kafka_data or self.data_dir / "kafka"

    @property
    def pg_dsn(self) -> str:
        port = self.pg_client_port or self.pg_port
        return f"host=127.0.0.1 port={port} dbname=parley user=parley connect_timeout=5"

    @property
    def kafka_brokers(self) -> str:
        return f"127.0.0.1:{self.kafka_advertised_port or self.kafka_port}"

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def service_port(self, name: str) -> int:
        return self.service_ports[name]

    def binary(self, name: str) -> Path:
        return self.build_dir / SERVICES[name]


# --------------------------------------------------------------------------
# Output: prefixed mirror on stdout + one log file per child
# --------------------------------------------------------------------------

def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def _logfmt(value) -> str:
    s = str(value)
    if s == "" or re.search(r'[\s"=]', s):
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return s


class Output:
    """Serialises child output and supervisor events.

    Child lines appear on stdout as `<name> | <line>` and are appended verbatim
    to <log_dir>/<name>.log. Supervisor events are logfmt lines.
    """

    def __init__(self, log_dir: Path, echo: bool = True, stream=None):
        self.log_dir = Path(log_dir)
        self.echo = echo
        self._stream = stream
        self._lock = threading.Lock()
        self._files: dict = {}

    def _file(self, name):
        f = self._files.get(name)
        if f is None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            f = open(self.log_dir / f"{name}.log", "a", encoding="utf-8", buffering=1)
            self._files[name] = f
        return f

    def line(self, name: str, text: str, prefix: bool = True) -> None:
        with self._lock:
            try:
                self._file(name).write(text + "\n")
            except OSError:
                pass
            if self.echo:
                out = self._stream or sys.stdout
                try:
                    out.write((f"{name:>12} | {text}" if prefix else text) + "\n")
                    out.flush()
                except (OSError, ValueError):
                    pass

    def event(self, level: str, event: str, **fields) -> None:
        parts = [f"ts={_now()}", f"level={level}", "component=supervisor"]
        svc = fields.pop("service", None)
        if svc is not None:
            parts.append(f"service={_logfmt(svc)}")
        parts.append(f"event={event}")
        parts += [f"{k}={_logfmt(v)}" for k, v in fields.items() if v is not None]
        self.line("supervisor", " ".join(parts))

    def pump(self, name: str, stream) -> None:
        """Thread target: copy a child's combined stdout/stderr line by line."""
        try:
            for raw in iter(stream.readline, b""):
                self.line(name, raw.decode("utf-8", "replace").rstrip("\r\n"))
        except (OSError, ValueError):
            pass
        finally:
            try:
                stream.close()
            except OSError:
                pass

    def close(self) -> None:
        with self._lock:
            for f in self._files.values():
                try:
                    f.close()
                except OSError:
                    pass
            self._files.clear()


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


_handed_out: set = set()


def free_port() -> int:
    """A currently free 127.0.0.1 TCP port (for tests), never the same one
    twice in a process. Taken below the kernel's ephemeral range
    (/proc/sys/net/ipv4/ip_local_port_range): a port from that range can be
    taken as the local end of some outgoing loopback connection between
    being chosen here and the server's bind."""
    rng = random.SystemRandom()
    for _ in range(1000):
        port = rng.randrange(20000, 32000)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise StackError("no free port in 20000-31999")


def log_tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log, for an error message ('' if unreadable)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])
    except OSError:
        return ""


def _describe_exit(rc: Optional[int]) -> str:
    if rc is None:
        return "spawn_failed"
    if rc < 0:
        try:
            return signal.Signals(-rc).name
        except ValueError:
            return f"signal{-rc}"
    return str(rc)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _user_kwargs(user: Optional[str]) -> dict:
    """Popen kwargs that drop root privileges to `user` (no extra groups)."""
    if not user or os.geteuid() != 0:
        return {}
    pw = pwd.getpwnam(user)
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def _check_traversable(path: Path, user: str) -> None:
    """Fail early (with a useful message) if `user` cannot reach `path`."""
    pw = pwd.getpwnam(user)
    groups = {g.gr_gid for g in grp.getgrall() if user in g.gr_mem} | {pw.pw_gid}
    for parent in reversed(Path(path).parents):
        st = parent.stat()
        if st.st_uid == pw.pw_uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid in groups:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            raise StackError(
                f"postgres runs as user '{user}' (we are root) but cannot enter {parent} "
                f"(mode {stat.filemode(st.st_mode)}); put PARLEY_DATA_DIR somewhere "
                f"world-traversable, e.g. a directory under /tmp made with mode 0755")


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for n in dirs + files:
            try:
                os.chown(os.path.join(root, n), uid, gid, follow_symlinks=False)
            except FileNotFoundError:
                pass


# --------------------------------------------------------------------------
# Supervised processes
# --------------------------------------------------------------------------

@dataclass
class Backoff:
    initial: float = 0.5
    maximum: float = 30.0
    reset_after: float = 60.0     # uptime after which the delay starts over


@dataclass
class ProcessSpec:
    name: str                                  # instance name; log prefix and log file
    argv: list
    env: dict
    cwd: Optional[str] = None
    user: Optional[str] = None                 # drop to this user when we are root
    port: Optional[int] = None                 # checked free before the first start
    stop_signal: int = signal.SIGTERM
    signal_group: bool = False                 # deliver stop signal to the whole process group
    restart: bool = True
    ready: Optional[Callable[[], bool]] = None  # readiness probe (polled)


class ManagedProcess:
    """One supervised child: spawn, restart with backoff, stop, probe.

    Each child runs in its own session (so a terminal Ctrl-C reaches only the
    supervisor, which then stops children in order) and its leftovers are
    reaped by process group.
    """

    def __init__(self, spec: ProcessSpec, output: Output, backoff: Backoff = None,
                 stop_timeout: float = 10.0, force: threading.Event = None):
        self.spec = spec
        self.backoff = backoff or Backoff()
        self.stop_timeout = stop_timeout
        self.restarts = 0
        self.last_exit: Optional[str] = None
        self._output = output
        self._force = force or threading.Event()
        self._lock = threading.Lock()
        self._spawned = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._proc: Optional[subprocess.Popen] = None
        self._started_at = 0.0
        self._thread: Optional[threading.Thread] = None

    # -- public ------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def port(self) -> Optional[int]:
        return self.spec.port

    @property
    def pid(self) -> Optional[int]:
        p = self._proc
        return p.pid if p is not None and p.returncode is None else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    @property
    def supervised(self) -> bool:
        """True between start() and stop() (even while waiting to restart)."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "ManagedProcess":
        if self.supervised:
            raise StackError(f"{self.name} is already running")
        if self.spec.port and port_in_use(self.spec.port):
            raise StackError(f"{self.name}: port {self.spec.port} is already in use "
                             f"(another stack or a leftover process?)")
        self._stop.clear()
        with self._lock:
            self._spawn_locked()
        self._thread = threading.Thread(target=self._supervise, daemon=True,
                                        name=f"supervise-{self.name}")
        self._thread.start()
        return self

    def kill(self, sig: int = signal.SIGKILL, group: bool = False) -> None:
        """Send a signal; the supervisor restarts the child if it dies (unless restart=False)."""
        p = self._proc
        if p is None or p.returncode is not None:
            return
        if group:
            _signal_group(p.pid, sig)
        else:
            try:
                os.kill(p.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float = None) -> None:
        """Stop and do not restart: stop signal, then SIGKILL after `timeout` s."""
        timeout = self.stop_timeout if timeout is None else timeout
        self._stop.set()
        with self._lock:
            proc = self._proc
        if proc is not None and proc.returncode is None:
            self._terminate(proc, timeout)
        if proc is not None:
            _signal_group(proc.pid, signal.SIGKILL)   # stray grandchildren
        if self._thread is not None:
            self._thread.join(timeout=5)
        if proc is not None:
            self._output.event("info", "stopped", service=self.name, pid=proc.pid,
                               exit=_describe_exit(proc.returncode))

    def restart(self, timeout: float = None) -> "ManagedProcess":
        self.stop(timeout)
        return self.start()

    def ready(self) -> bool:
        if not self.running:
            return False
        return True if self.spec.ready is None else bool(self.spec.ready())

    def wait_ready(self, timeout: float = 60.0, abort: threading.Event = None) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if abort is not None and abort.is_set():
                raise StackStopped()
            if self.ready():
                return True
            time.sleep(0.2)
        return False

    def wait_restarted(self, old_pid: int, timeout: float = 35.0) -> bool:
        """Block until a new process (pid != old_pid) has been spawned."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                p = self._proc
                if p is not None and p.pid != old_pid and p.returncode is None:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._spawned.wait(left)

    # -- internals ---------------------------------------------------------
    def _spawn_locked(self) -> subprocess.Popen:
        spec = self.spec
        proc = subprocess.Popen(
            spec.argv, env=spec.env, cwd=spec.cwd, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, close_fds=True,
            start_new_session=True, **_user_kwargs(spec.user))
        self._proc = proc
        self._started_at = time.monotonic()
        threading.Thread(target=self._output.pump, args=(spec.name, proc.stdout),
                         daemon=True, name=f"pump-{spec.name}").start()
        self._output.event("info", "start", service=spec.name, pid=proc.pid)
        self._spawned.notify_all()
        return proc

    def _wait_exit(self, proc) -> Optional[int]:
        # Only this thread waits on the process; stop() watches returncode.
        rc = proc.wait()
        if _group_alive(proc.pid) and not self._stop.is_set():
            # e.g. a wrapper script died but its java child lives on: clear the
            # group so the restarted instance can bind its ports.
            _signal_group(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while _group_alive(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            _signal_group(proc.pid, signal.SIGKILL)
        return rc

    def _supervise(self) -> None:
        delay = self.backoff.initial
        proc = self._proc
        while True:
            if proc is not None:
                rc = self._wait_exit(proc)
                uptime = time.monotonic() - self._started_at
            else:
                rc, uptime = None, 0.0
            self.last_exit = _describe_exit(rc)
            if self._stop.is_set():
                return
            if not self.spec.restart:
                self._output.event("warn", "exit", service=self.name, exit=self.last_exit,
                                   uptime_s=round(uptime, 1))
                return
            if uptime >= self.backoff.reset_after:
                delay = self.backoff.initial
            self._output.event("warn", "restart", service=self.name, exit=self.last_exit,
                               backoff_s=delay)
            if self._stop.wait(delay):
                return
            with self._lock:
                if self._stop.is_set():
                    return
                try:
                    proc = self._spawn_locked()
                except OSError as e:
                    self._output.event("error", "spawn_failed", service=self.name, error=e)
                    proc = None
                self.restarts += 1
            delay = min(delay * 2, self.backoff.maximum)

    def _terminate(self, proc: subprocess.Popen, timeout: float) -> None:
        spec = self.spec
        if spec.signal_group:
            _signal_group(proc.pid, spec.stop_signal)
        else:
            try:
                os.kill(proc.pid, spec.stop_signal)
            except ProcessLookupError:
                pass

        def done():
            if self._thread is None or not self._thread.is_alive():
                proc.poll()   # nobody else is waiting: reap it ourselves
            exited = proc.returncode is not None
            return exited and (not spec.signal_group or not _group_alive(proc.pid))

        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline and not self._force.is_set():
            time.sleep(0.05)
        if not done():
            self._output.event("warn", "kill", service=self.name, pid=proc.pid,
                               reason="stop timeout" if not self._force.is_set() else "forced")
            _signal_group(proc.pid, signal.SIGKILL)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


# --------------------------------------------------------------------------
# Infrastructure components
# --------------------------------------------------------------------------

class Postgres:
    """Debian postgresql-15 cluster in $PARLEY_DATA_DIR/pg, run as a child."""

    SYSTEM_USER = "postgres"

    def __init__(self, stack: "Stack"):
        self.stack = stack
        self.cfg = stack.config
        self._socket_dir: Optional[Path] = None

    @property
    def run_as(self) -> Optional[str]:
        return self.SYSTEM_USER if os.geteuid() == 0 else None

    def _bin(self, tool: str) -> str:
        path = self.cfg.pg_bin / tool
        if not path.exists():
            raise StackError(f"{path} not found (apt-get install postgresql, "
                             f"or set PARLEY_PG_BIN)")
        return str(path)

    def _owner(self):
        if self.run_as:
            pw = pwd.getpwnam(self.run_as)
            return pw.pw_uid, pw.pw_gid
        return os.getuid(), os.getgid()

    def socket_dir(self) -> Path:
        if self._socket_dir is None:
            d = self.cfg.data_dir / "pg-socket"
            if len(str(d / f".s.PGSQL.{self.cfg.pg_port}")) > 100:   # sun_path limit
                d = Path(tempfile.mkdtemp(prefix="parley-pg-"))
            d.mkdir(parents=True, exist_ok=True)
            os.chown(d, *self._owner())
            os.chmod(d, 0o755)
            self._socket_dir = d
        return self._socket_dir

    def ensure_initialized(self) -> None:
        pg = self.cfg.pg_dir
        uid, gid = self._owner()
        if self.run_as:
            _check_traversable(pg, self.run_as)
        if (pg / "PG_VERSION").exists():
            if pg.stat().st_uid != uid:
                _chown_tree(pg, uid, gid)
            return
        if pg.exists() and any(pg.iterdir()):
            raise StackError(f"{pg} exists but is not a postgres cluster (no PG_VERSION); "
                             f"remove it to re-initialise")
        pg.mkdir(parents=True, exist_ok=True)
        os.chown(pg, uid, gid)
        os.chmod(pg, 0o700)
        self.stack.output.event("info", "initdb", service="postgres", dir=pg)
        self.stack.run_once("postgres-initdb", [
            self._bin("initdb"), "-D", str(pg), "-U", "parley", "--auth=trust",
            "-E", "UTF8", "--locale=C", "--no-instructions"],
            user=self.run_as, cwd="/", timeout=120)

    def spec(self) -> ProcessSpec:
        argv = [self._bin("postgres"), "-D", str(self.cfg.pg_dir),
                "-p", str(self.cfg.pg_port), "-k", str(self.socket_dir()),
                "-c", "listen_addresses=127.0.0.1",
                "-c", "synchronous_commit=on", "-c", "fsync=on"]
        return ProcessSpec(name="postgres", argv=argv, env=dict(os.environ, LC_ALL="C"),
                           cwd="/", user=self.run_as, port=self.cfg.pg_port,
                           stop_signal=signal.SIGINT, ready=self.is_ready)

    def is_ready(self) -> bool:
        r = subprocess.run([self._bin("pg_isready"), "-q", "-h", "127.0.0.1",
                            "-p", str(self.cfg.pg_port), "-U", "parley", "-d", "postgres",
                            "-t", "1"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return r.returncode == 0

    def psql(self, sql: str, db: str = "postgres") -> str:
        r = subprocess.run([self._bin("psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
                            "-h", "127.0.0.1", "-p", str(self.cfg.pg_port), "-U", "parley",
                            "-d", db, "-c", sql],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise StackError(f"psql failed: {r.stderr.strip()}")
        return r.stdout.strip()

    def ensure_database(self) -> None:
        if self.psql("SELECT 1 FROM pg_database WHERE datname = 'parley'") != "1":
            self.psql("CREATE DATABASE parley")
            self.stack.output.event("info", "created_database", service="postgres",
                                    database="parley")

    def start(self) -> ManagedProcess:
        self.ensure_initialized()
        handle = self.stack.spawn(self.spec())
        if not handle.wait_ready(60, abort=self.stack.stopping):
            raise StackError("postgres did not become ready within 60 s "
                             f"(see {self.cfg.log_dir / 'postgres.log'})")
        self.ensure_database()
        return handle


class Kafka:
    """Broker via the infra/kafka/*.sh scripts (fetch, start, wait, create-topics)."""

    def __init__(self, stack: "Stack"):
        self.stack = stack
        self.cfg = stack.config

    def script(self, name: str) -> str:
        path = self.cfg.kafka_scripts / name
        if not path.exists():
            raise StackError(f"{path} is missing")
        return str(path)

    def env(self) -> dict:
        return dict(os.environ,
                    PARLEY_DATA_DIR=str(self.cfg.data_dir),
                    PARLEY_KAFKA_PORT=str(self.cfg.kafka_port),
                    PARLEY_KAFKA_CONTROLLER_PORT=str(self.cfg.kafka_controller_port),
                    PARLEY_KAFKA_ADVERTISED_PORT=str(self.cfg.kafka_advertised_port
                                                     or self.cfg.kafka_port),
                    PARLEY_KAFKA_DATA=str(self.cfg.kafka_data_dir),
                    PARLEY_KAFKA_BROKERS=self.cfg.kafka_brokers)

    def start(self) -> ManagedProcess:
        env = self.env()
        self.stack.run_once("kafka-fetch", ["bash", self.script("fetch.sh")], env=env)
        handle = self.stack.spawn(ProcessSpec(
            name="kafka", argv=["bash", self.script("start.sh")], env=env,
            port=self.cfg.kafka_port, stop_signal=signal.SIGTERM, signal_group=True))
        rc = self.stack.run_once("kafka-wait", ["bash", self.script("wait.sh")], env=env,
                                 timeout=300, check=False,
                                 give_up=lambda: not handle.running)
        if rc != 0 or not handle.running:
            log = self.cfg.log_dir / "kafka.log"
            raise StackError(f"kafka did not become ready (wait.sh exit {rc}, broker "
                             f"{'running' if handle.running else 'exited'}); "
                             f"the end of {log}:\n{log_tail(log)}")
        self.stack.run_once("kafka-topics", ["bash", self.script("create-topics.sh")],
                            env=env, timeout=300)
        return handle


class SigningKeys:
    """Ed25519 token keys, generated once by `parley-auth keygen <dir>`."""

    def __init__(self, stack: "Stack"):
        self.stack = stack
        self.cfg = stack.config

    @property
    def secret(self) -> Path:
        return self.cfg.keys_dir / "ed25519.key"

    @property
    def public(self) -> Path:
        return self.cfg.keys_dir / "ed25519.pub"

    def ensure(self) -> None:
        if self.secret.exists():
            return
        auth = self.cfg.binary("auth")
        if not auth.exists():
            raise StackError(f"{auth} not built; cannot generate signing keys "
                             f"(meson setup {self.cfg.build_dir} && ninja -C {self.cfg.build_dir})")
        self.cfg.keys_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.cfg.keys_dir, 0o700)
        self.stack.run_once("auth-keygen", [str(auth), "keygen", str(self.cfg.keys_dir)],
                            timeout=30)
        if not (self.secret.exists() and self.public.exists()):
            raise StackError(f"parley-auth keygen did not write {self.secret} and {self.public}")


class Nginx:
    """Renders infra/local/nginx.conf.in and runs nginx in the foreground."""

    TEMPLATE = HERE / "nginx.conf.in"

    def __init__(self, stack: "Stack"):
        self.stack = stack
        self.cfg = stack.config

    @property
    def conf_path(self) -> Path:
        return self.cfg.nginx_dir / "nginx.conf"

    @staticmethod
    def binary() -> str:
        path = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
        if not path:
            raise StackError("nginx not found (apt-get install nginx-light)")
        return path

    def static_root(self) -> Path:
        dist = self.cfg.repo / "web" / "dist"
        return dist if dist.is_dir() else HERE / "www"

    @staticmethod
    def _user_directive() -> str:
        if os.geteuid() != 0:
            return "# not root: workers run as the invoking user"
        for user, group in (("www-data", "www-data"), ("nobody", "nogroup")):
            try:
                pwd.getpwnam(user)
                grp.getgrnam(group)
                return f"user {user} {group};"
            except KeyError:
                continue
        return "user nobody;"

    def render(self, pusher_port: int = None) -> Path:
        cfg = self.cfg
        mime = Path("/etc/nginx/mime.types")
        values = {
            "USER_DIRECTIVE": self._user_directive(),
            "NGINX_DIR": str(cfg.nginx_dir),
            "MIME_TYPES": f"include {mime};" if mime.exists() else
                          "types { text/html html; text/css css; application/javascript js; "
                          "application/json json; image/svg+xml svg; image/png png; }",
            "HTTP_PORT": str(cfg.http_port),
            "STATIC_ROOT": str(self.static_root()),
            "OPENAPI_FILE": str(cfg.repo / "schemas" / "openapi.json"),
            "AUTH_PORT": str(cfg.service_port("auth")),
            "READ_PORT": str(cfg.service_port("read")),
            "COMMAND_PORT": str(cfg.service_port("command")),
            "PUSHER_PORT": str(pusher_port or cfg.service_port("pusher")),
            "MEDIA_PORT": str(cfg.service_port("media")),
        }
        text = self.TEMPLATE.read_text()
        for key, value in values.items():
            text = text.replace(f"@{key}@", value)
        leftover = re.findall(r"@[A-Z_]+@", text)
        if leftover:
            raise StackError(f"nginx template has unknown placeholders: {sorted(set(leftover))}")
        (cfg.nginx_dir / "tmp").mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(text)
        return self.conf_path

    def argv(self, *extra) -> list:
        return [self.binary(), "-p", str(self.cfg.nginx_dir) + "/", "-c", str(self.conf_path),
                *extra]

    def test_config(self) -> None:
        self.stack.run_once("nginx", self.argv("-t", "-q"), timeout=30)

    def start(self) -> ManagedProcess:
        self.render()
        self.test_config()
        handle = self.stack.spawn(ProcessSpec(
            name="nginx", argv=self.argv("-g", "daemon off;"), env=dict(os.environ),
            port=self.cfg.http_port, stop_signal=signal.SIGTERM,
            ready=lambda: http_ok(f"{self.cfg.public_url}/healthz")))
        if not handle.wait_ready(15, abort=self.stack.stopping):
            raise StackError(f"nginx did not come up on {self.cfg.public_url}")
        return handle


# --------------------------------------------------------------------------
# The stack
# --------------------------------------------------------------------------

_LIVE_STACKS: "weakref.WeakSet[Stack]" = weakref.WeakSet()


@atexit.register
def _stop_live_stacks() -> None:
    for stack in list(_LIVE_STACKS):
        try:
            stack.stop_all()
        except Exception:   # noqa: BLE001 - best effort at interpreter exit
            pass


class Stack:
    """Owns every child of one local Parley deployment."""

    def __init__(self, config: Config = None, output: Output = None):
        self.config = config or Config.from_env()
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        self.output = output or Output(self.config.log_dir, echo=self.config.echo)
        self.stopping = threading.Event()     # set by stop_all()/request_stop()
        self.force = threading.Event()        # skip grace periods
        self._handles: dict[str, ManagedProcess] = {}   # insertion order = start order
        self.failed: list = []                # services that could not even be started
        self._lock = threading.Lock()
        self.postgres = Postgres(self)
        self.kafka = Kafka(self)
        self.keys = SigningKeys(self)
        self.nginx = Nginx(self)
        _LIVE_STACKS.add(self)

    def __enter__(self) -> "Stack":
        return self

    def __exit__(self, *exc) -> None:
        self.stop_all()

    # -- handles -----------------------------------------------------------
    def handle(self, name: str) -> ManagedProcess:
        return self._handles[name]

    __getitem__ = handle

    @property
    def handles(self) -> list:
        return list(self._handles.values())

    def spawn(self, spec: ProcessSpec) -> ManagedProcess:
        """Register and start a supervised child (replaces a stopped one of the same name)."""
        if self.stopping.is_set():
            raise StackStopped()
        with self._lock:
            old = self._handles.get(spec.name)
            if old is not None and old.supervised:
                raise StackError(f"{spec.name} is already running")
            handle = ManagedProcess(spec, self.output, stop_timeout=self.config.stop_timeout,
                                    force=self.force)
            self._handles.pop(spec.name, None)
            self._handles[spec.name] = handle
        handle.start()
        return handle

    def run_once(self, name: str, argv: list, env: dict = None, timeout: float = None,
                 user: str = None, cwd: str = None, check: bool = True,
                 give_up: Callable[[], bool] = None) -> int:
        """Run a one-shot command with logged output; interruptible by a stop
        request. give_up() true ends it early (as exit -1): a wait for a
        server that has already died need not run to its timeout."""
        if self.stopping.is_set():
            raise StackStopped()
        self.output.event("info", "run", service=name, argv=" ".join(argv))
        try:
            proc = subprocess.Popen(argv, env=env if env is not None else dict(os.environ),
                                    cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    close_fds=True, **_user_kwargs(user))
        except OSError as e:
            raise StackError(f"{name}: cannot run {argv[0]}: {e}") from None
        pump = threading.Thread(target=self.output.pump, args=(name, proc.stdout), daemon=True)
        pump.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while proc.poll() is None:
                if self.stopping.is_set():
                    raise StackStopped()
                if deadline is not None and time.monotonic() > deadline:
                    raise StackError(f"{name}: timed out after {timeout:.0f} s")
                if give_up is not None and give_up():
                    break
                time.sleep(0.1)
        finally:
            if proc.poll() is None:
                _signal_group(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
            pump.join(timeout=2)
        rc = -1 if give_up is not None and give_up() else proc.returncode
        if check and rc != 0:
            raise StackError(f"{name}: {' '.join(argv)} exited with {rc} "
                             f"(see {self.config.log_dir / (name + '.log')})")
        return rc

    # -- components --------------------------------------------------------
    def start_infra(self, postgres: bool = True, kafka: bool = True) -> None:
        """Postgres (database `parley` created) and kafka (topics created)."""
        if postgres:
            self.postgres.start()
        if kafka:
            self.kafka.start()

    def service_env(self, name: str, port: int, instance: str) -> dict:
        cfg = self.config
        env = dict(os.environ)
        env.update({
            "PARLEY_PG_DSN": cfg.pg_dsn,
            "PARLEY_KAFKA_BROKERS": cfg.kafka_brokers,
            "PARLEY_HTTP_PORT": str(port),
            "PARLEY_INSTANCE": instance,
            "PARLEY_WS_ALLOWED_ORIGINS": (f"http://127.0.0.1:{cfg.http_port},"
                                          f"http://localhost:{cfg.http_port}"),
            "PARLEY_AUTH_PUBLIC_KEY_FILE": str(self.keys.public),
            "PARLEY_DATA_DIR": str(cfg.data_dir),
        })
        if name == "auth":
            env["PARLEY_AUTH_SECRET_KEY_FILE"] = str(self.keys.secret)
        if name in ("archiver", "read", "media"):  # read, media: archived history (read only)
            env.setdefault("PARLEY_ARCHIVE_DIR", str(cfg.data_dir / "archive"))
        return env

    def _instance_name(self, name: str) -> str:
        candidates = [name] + [f"{name}-{i}" for i in range(2, 100)]
        for cand in candidates:
            h = self._handles.get(cand)
            if h is None or not h.supervised:
                return cand
        raise StackError(f"too many {name} instances")

    def start_service(self, name: str, port: int = None, extra_env: dict = None,
                      instance: str = None, restart: bool = True, wait: bool = True,
                      argv: list = None) -> ManagedProcess:
        """Start one service binary from the build dir.

        port defaults to the configured port; instance (PARLEY_INSTANCE and log
        name) defaults to `name`, or `name-2`, `name-3`... when already taken.
        With wait=True blocks until /readyz answers 200 or ready_timeout
        passes (then logs an error and returns the still-supervised handle;
        check handle.ready()).
        """
        if name not in SERVICES:
            raise StackError(f"unknown service {name!r} (known: {', '.join(SERVICES)})")
        cfg = self.config
        port = port or cfg.service_port(name)
        instance = instance or self._instance_name(name)
        self.keys.ensure()
        binary = cfg.binary(name)
        if argv is None and not binary.exists():
            raise StackError(f"{binary} not built (ninja -C {cfg.build_dir})")
        env = self.service_env(name, port, instance)
        env.update(extra_env or {})
        handle = self.spawn(ProcessSpec(
            name=instance, argv=argv or [str(binary)], env=env, cwd=str(cfg.data_dir),
            port=port, restart=restart,
            ready=lambda: http_ok(f"http://127.0.0.1:{port}/readyz")))
        if wait and not handle.wait_ready(cfg.ready_timeout, abort=self.stopping):
            self.output.event("error", "not_ready", service=instance, port=port,
                              waited_s=cfg.ready_timeout,
                              log=cfg.log_dir / f"{instance}.log")
        return handle

    def start_services(self, names=None) -> dict:
        """Start services in order; a failing one is logged, the rest still start."""
        result = {}
        for name in names or SERVICES:
            try:
                result[name] = self.start_service(name).ready()
            except StackError as e:
                self.output.event("error", "service_failed", service=name, error=e)
                self.failed.append(name)
                result[name] = False
        return result

    def start_nginx(self) -> ManagedProcess:
        return self.nginx.start()

    def start_all(self, infra_only: bool = False) -> None:
        self.start_infra()
        if not infra_only:
            self.start_services()
        self.start_nginx()

    def all_ready(self) -> bool:
        return (bool(self._handles) and not self.failed
                and all(h.ready() for h in self.handles if h.spec.restart and h.supervised))

    def not_ready(self) -> list:
        return self.failed + [h.name for h in self.handles if h.supervised and not h.ready()]

    # -- shutdown ----------------------------------------------------------
    def request_stop(self, force: bool = False) -> None:
        self.stopping.set()
        if force:
            self.force.set()

    def stop_all(self) -> None:
        """Stop every child in reverse start order. Idempotent."""
        self.stopping.set()
        for handle in reversed(self.handles):
            if handle.supervised or handle.running:
                handle.stop()
        self._release_socket_dir()
        # reusable afterwards (e.g. a test that restarts the whole stack)
        self.stopping.clear()
        self.force.clear()

    def _release_socket_dir(self) -> None:
        d = self.postgres._socket_dir
        if d is not None and not str(d).startswith(str(self.config.data_dir)):
            shutil.rmtree(d, ignore_errors=True)
            self.postgres._socket_dir = None


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

def _cmd_run(args) -> int:
    stack = Stack(Config.from_env())
    out = stack.output

    def on_signal(signum, _frame):
        if stack.stopping.is_set():
            out.event("warn", "force_stop", signal=signal.Signals(signum).name)
            stack.request_stop(force=True)
        else:
            out.event("info", "stopping", signal=signal.Signals(signum).name)
            stack.request_stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    rc = 0
    try:
        out.event("info", "starting", data_dir=stack.config.data_dir,
                  build_dir=stack.config.build_dir, infra_only=args.infra_only)
        stack.start_all(infra_only=args.infra_only)
        announced = False
        if not stack.all_ready():
            out.event("warn", "degraded", not_ready=",".join(stack.not_ready()))
        while not stack.stopping.wait(0.5):
            if not announced and stack.all_ready():
                out.line("supervisor", f"Parley is up: {stack.config.public_url}", prefix=False)
                announced = True
    except StackStopped:
        pass
    except StackError as e:
        out.event("error", "startup_failed", error=e)
        rc = 1
    finally:
        stack.stop_all()
        out.event("info", "stopped_all")
        out.close()
    return rc


def _cmd_env(args) -> int:
    cfg = Config.from_env()
    stack_env = {"PARLEY_PG_DSN": cfg.pg_dsn, "PARLEY_KAFKA_BROKERS": cfg.kafka_brokers,
                 "PARLEY_AUTH_PUBLIC_KEY_FILE": str(cfg.keys_dir / "ed25519.pub"),
                 "PARLEY_WS_ALLOWED_ORIGINS": (f"http://127.0.0.1:{cfg.http_port},"
                                               f"http://localhost:{cfg.http_port}")}
    if args.service:
        if args.service not in SERVICES:
            print(f"unknown service {args.service!r}", file=sys.stderr)
            return 2
        stack_env["PARLEY_HTTP_PORT"] = str(cfg.service_port(args.service))
        stack_env["PARLEY_INSTANCE"] = args.service
        if args.service == "auth":
            stack_env["PARLEY_AUTH_SECRET_KEY_FILE"] = str(cfg.keys_dir / "ed25519.key")
    for k, v in stack_env.items():
        print(f"export {k}='{v}'")
    return 0


def _cmd_render_nginx(_args) -> int:
    cfg = Config.from_env(echo=True)
    stack = Stack(cfg)
    try:
        path = stack.nginx.render()
        stack.nginx.test_config()
        print(path)
        return 0
    except StackError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="parley_stack.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="run the whole stack in the foreground")
    run.add_argument("--infra-only", action="store_true",
                     help="postgres, kafka and nginx only (run the services yourself)")
    run.set_defaults(func=_cmd_run)
    env = sub.add_parser("env", help="print shell exports for running a service by hand")
    env.add_argument("service", nargs="?")
    env.set_defaults(func=_cmd_env)
    rn = sub.add_parser("render-nginx", help="render and syntax-check the nginx config")
    rn.set_defaults(func=_cmd_render_nginx)
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except StackError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
