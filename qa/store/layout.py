"""Layout of an index folder: the CURRENT pointer, version and staging folders, fsync,
cleanup, and the build lock.

    index/
      CURRENT             name of the live version (swapped atomically)
      .build.lock         flock held by the one running build, with its pid
      v-<time>-<id>/      one complete version: manifest.json and its segments s-<time>-<id>/
      .tmp-v-.../         a version being written (removed if the build dies)

A version is written under a temporary name, renamed into place when complete,
and only then named in CURRENT, so a reader never sees half of one.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from qa.errors import BuildLocked, IndexUnavailable

log = logging.getLogger(__name__)
CURRENT_FILE = "CURRENT"
LOCK_FILE = ".build.lock"
VERSION_PREFIX = "v-"
SEGMENT_PREFIX = "s-"
STAGING_PREFIX = ".tmp-"


def current_version(index_dir: Path) -> Path | None:
    """The folder of the live version, or None when there is none."""
    try:
        name = (index_dir / CURRENT_FILE).read_text().strip()
    except FileNotFoundError:
        return None
    return index_dir / name if name else None


def live_folder(index_dir: Path) -> Path:
    """The live version's folder; `IndexUnavailable` when there is none."""
    folder = current_version(index_dir)
    if folder is None or not folder.is_dir():
        raise IndexUnavailable(f"no index found in {index_dir}/: run `qa index` to build it")
    return folder


def corrupt(index_dir: Path, reason: str) -> IndexUnavailable:
    return IndexUnavailable(f"the index in {index_dir}/ is corrupt or incomplete ({reason}): "
                            f"run `qa index` to rebuild it")


def new_name(prefix: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{prefix}{stamp}-{uuid.uuid4().hex[:6]}"


def write_json(path: Path, data) -> None:
    with open(path, "w", encoding="utf-8") as file:
        json.dump(data, file, ensure_ascii=False)


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def fsync_tree(folder: Path, only: list[str] | None = None) -> None:
    """Flush freshly written files (all of `folder`, or just `only`) to disk before they go live."""
    paths = [folder / name for name in only] if only else folder.rglob("*")
    for path in paths:
        if path.is_file():
            with open(path, "rb") as file:
                os.fsync(file.fileno())


def link_folder(source: Path, folder: Path) -> None:
    """Share a kept segment with a new version: hard links, or copies where links fail."""
    folder.mkdir()
    for path in source.iterdir():
        try:
            os.link(path, folder / path.name)
        except OSError:
            shutil.copy2(path, folder / path.name)


def switch_current(index_dir: Path, name: str) -> None:
    """Point CURRENT at version `name` atomically (write a temp file, then rename)."""
    pointer = index_dir / f".{CURRENT_FILE}.{uuid.uuid4().hex[:6]}"
    with open(pointer, "w") as file:
        file.write(name + "\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(pointer, index_dir / CURRENT_FILE)


def remove_old_versions(index_dir: Path) -> list[str]:
    """Delete every version, staging folder and pointer file but the live ones (under the build lock)."""
    live = current_version(index_dir)
    removed = []
    for path in index_dir.iterdir():
        stale_version = path.name.startswith(VERSION_PREFIX) and path != live
        if path.is_dir() and (stale_version or path.name.startswith(STAGING_PREFIX)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
        elif path.is_file() and path.name.startswith(f".{CURRENT_FILE}."):
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


@contextmanager
def build_lock(index_dir: Path, wait: bool = True) -> Iterator[None]:
    """Hold `index_dir/.build.lock` (with our pid in it) for one build.

    The lock is an flock, so a builder that dies releases it with its process:
    a stale lock file from a dead process is simply taken over.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / LOCK_FILE, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            if not wait:
                raise BuildLocked(f"another build (pid {holder}) is running on {index_dir}/") from None
            log.warning("waiting for the build by pid %s on %s/ to finish", holder, index_dir)
            fcntl.flock(lock, fcntl.LOCK_EX)
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        try:
            yield
        finally:
            lock.truncate(0)
            fcntl.flock(lock, fcntl.LOCK_UN)
