"""Real processes for the hardening suites: daphne, Dramatiq workers, a private redis-server
and moto_server, all pointed at the test database of the running pytest session.

A test that talks to these processes must use ``transactional_db`` (the processes only see
committed rows). Every process writes its output to a log file; ``Process.log_tail()`` puts
the end of it in assertion messages.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout: float = 60.0, interval: float = 0.2, what: str = "") -> object:
    """Poll ``predicate`` until it returns something truthy; raise TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what or predicate}")
        time.sleep(interval)


def database_url(settings_dict: dict) -> str:
    """The URL of the database a Django connection uses (the pytest test database)."""
    user = settings_dict.get("USER") or "postgres"
    password = settings_dict.get("PASSWORD")
    auth = f"{user}:{password}" if password else user
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{settings_dict['NAME']}"


def service_env(
    *,
    data_dir: Path,
    redis_url: str,
    namespace: str | None = None,
    media_root: Path | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Environment of a server or worker process sharing this test session's database."""
    from django.db import connection

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "annotator.test_settings",
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": redis_url,
        "DRAMATIQ_BROKER_URL": redis_url,
        "DRAMATIQ_NAMESPACE": namespace or f"test-hardening-{uuid.uuid4().hex[:8]}",
        "ANNOTATOR_DATA_DIR": str(data_dir),
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": os.environ.get("HARDENING_LOG_LEVEL", "WARNING"),
    }
    if media_root is not None:
        env["MEDIA_ROOT"] = str(media_root)
    # The test process's own TEST_DATABASE_NAME must not rename the subprocess's database.
    env.pop("TEST_DATABASE_NAME", None)
    env.update(extra or {})
    return env


class Process:
    """A child process with its own process group and log file."""

    def __init__(self, name: str, command: list[str], *, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log_path = Path(log_dir) / f"{name}.log"
        self.popen: subprocess.Popen | None = None
        self._log = None

    def start(self) -> Process:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.popen = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: we can signal it and its children
        )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def children(self) -> list[int]:
        """Direct children's pids (Dramatiq's worker processes under its main process)."""
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            return []

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)

    def stop(self, timeout: float = 20.0) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.popen.wait(timeout=10)
        else:
            self.signal_group(signal.SIGKILL)  # stray children of a dead main process
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """SIGKILL the whole process group, as an OOM killer or a lost machine would."""
        self.signal_group(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(timeout=10)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def __enter__(self) -> Process:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class Daphne(Process):
    """daphne serving annotator.asgi on a free port."""

    def __init__(self, *, env: dict[str, str], log_dir: Path, port: int | None = None, name: str = "daphne"):
        self.port = port or free_port()
        command = [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(self.port),
            "annotator.asgi:application",
        ]
        super().__init__(name, command, env=env, log_dir=log_dir)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Daphne:
        import httpx

        super().start()

        def ready() -> bool:
            if not self.alive():
                raise RuntimeError(f"daphne exited:\n{self.log_tail()}")
            try:
                return httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=90, what="daphne to answer /healthz")
        return self


class DramatiqWorker(Process):
    """``python -m dramatiq annotator.worker`` on the Redis broker named by ``env``."""

    def __init__(
        self,
        *,
        env: dict[str, str],
        log_dir: Path,
        queues: list[str],
        processes: int = 1,
        threads: int = 2,
        name: str = "worker",
    ):
        command = [
            sys.executable,
            "-m",
            "dramatiq",
            "annotator.worker",
            "--processes",
            str(processes),
            "--threads",
            str(threads),
            "--queues",
            *queues,
        ]
        super().__init__(name, command, env=env, log_dir=log_dir)

    def kill_worker_processes(self) -> list[int]:
        """SIGKILL Dramatiq's worker processes (not the main process), as the kernel's OOM
        killer would; the main process then shuts down, and a supervisor starts a new one."""
        pids = self.children()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return pids


class RedisServer(Process):
    """A private redis-server on a free port (append-only file on, as production runs it),
    so that a test may restart it without disturbing anyone else's Redis."""

    def __init__(self, *, log_dir: Path, data_dir: Path, port: int | None = None, appendonly: bool = True):
        self.port = port or free_port()
        self.data_dir = Path(data_dir)
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        command = [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--appendonly",
            "yes" if appendonly else "no",
            "--appendfsync",
            "always",
        ]
        super().__init__(f"redis-{self.port}", command, env=dict(os.environ), log_dir=log_dir)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        import redis

        self.data_dir.mkdir(parents=True, exist_ok=True)
        super().start()

        def ready() -> bool:
            try:
                return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
            except redis.RedisError:
                return False

        wait_until(ready, timeout=30, what=f"redis-server on port {self.port}")
        return self

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop the server (SIGTERM: it persists its append-only file), wait, start it again."""
        self.stop()
        time.sleep(down_seconds)
        self.start()


class MotoServer(Process):
    """moto_server: an S3-protocol server on loopback."""

    def __init__(self, *, log_dir: Path, port: int | None = None):
        self.port = port or free_port()
        binary = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
        super().__init__(
            f"moto-{self.port}",
            [binary, "-H", "127.0.0.1", "-p", str(self.port)],
            env=dict(os.environ),
            log_dir=log_dir,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        import httpx

        super().start()

        def ready() -> bool:
            try:
                httpx.get(self.url, timeout=5)
                return True
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=90, what="moto_server")
        return self
