"""A private PostgreSQL cluster for tests that stop, restart or refuse the database.

The shared server on 127.0.0.1:5432 is never touched: this one lives in a temporary directory owned
by the `postgres` user, listens on a free port, and is run with `pg_ctl` (as `postgres`, via runuser
when the tests run as root).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("HANDOFF_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateCluster:
    def __init__(self, *, max_connections: int = 60) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="handoff-pg-"))
        self.data = self.dir / "data"
        self.max_connections = max_connections

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the cluster's `postgres` database."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=60)

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), *args, check=check)

    def init(self) -> PrivateCluster:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        settings = (
            f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.dir}'\n"
            f"max_connections = {self.max_connections}\nfsync = off\nsynchronous_commit = off\n"
            "full_page_writes = off\nshared_buffers = 32MB\n"
        )
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(settings)
        return self

    def start(self) -> None:
        self._pg_ctl("-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-w", "-t", "30", "-m", mode, "stop", check=False)

    def restart(self) -> None:
        """Stop (clients see their connections cut, then refusals) and start again."""
        self.stop()
        self.start()

    def wait_down(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.accepting():
            time.sleep(0.05)

    def accepting(self) -> bool:
        with socket.socket() as s:
            s.settimeout(0.2)
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PrivateCluster:
        self.init().start()
        return self

    def __exit__(self, *_exc) -> None:
        self.destroy()
