"""Files: which files of the seeds folder are read, and reading their bytes safely."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Container
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import SourceError
from qa.settings import DEFAULT, SourceSettings

log = logging.getLogger(__name__)


@dataclass
class SeedFiles:
    """What a walk of the seeds folder found: the files to read (sorted); the files left out,
    each with the reason; and the ids of folders that could not be listed ("." for the root)."""

    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def in_unreadable_folder(self, doc_id: str) -> bool:
        """Whether a document lies under a folder that could not be listed this time."""
        return any(folder == "." or doc_id.startswith(folder + "/") for folder in self.unreadable)


def walk_seeds(seeds_dir: str | Path, suffixes: Container[str]) -> SeedFiles:
    """Every file of a known format (`suffixes`) under `seeds_dir`, recursively; hidden files
    left out silently. Other files, links that lead outside the folder and folders that
    cannot be listed are reported (and logged) with the reason."""
    root = Path(seeds_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"seeds folder not found: {root}")
    real_root = root.resolve()
    found = SeedFiles()

    def unreadable(error: OSError) -> None:
        found.unreadable.append(document_id(Path(error.filename), root))
        found.skipped.append(f"{error.filename}: folder cannot be read ({error.strerror or error})")

    for folder, subfolders, names in os.walk(root, onerror=unreadable):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in [*subfolders, *names]:
            path = Path(folder, name)
            if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                found.skipped.append(f"{path}: a link to {path.resolve()}, outside the seeds folder; not followed")
            elif name in subfolders or name.startswith("."):
                continue
            elif os.path.splitext(name)[1].lower() not in suffixes:
                found.skipped.append(f"{path}: not a supported format")
            elif not path.is_file():
                found.skipped.append(f"{path}: not a regular file")
            else:
                found.files.append(path)
    found.files.sort()
    for reason in found.skipped:
        log.warning("skipped %s", reason)
    return found


def document_id(path: Path, seeds_dir: str | Path) -> str:
    """The id of a seed file: its POSIX path relative to the seeds folder."""
    return Path(os.path.relpath(path, seeds_dir)).as_posix()


def file_stat(path: Path) -> tuple[int, int]:
    """Size and modification time (ns) of a seed file; `SourceError` when it cannot be read."""
    try:
        stat = path.stat()
    except OSError as error:
        raise SourceError(f"{path}: cannot be read ({error.strerror or error})") from error
    return stat.st_size, stat.st_mtime_ns


def read_bytes(path: Path, settings: SourceSettings = DEFAULT.sources) -> bytes:
    """The raw bytes of a seed file; `SourceError` when it cannot be read or is too big."""
    try:
        size = path.stat().st_size
        if size > settings.max_file_bytes:
            raise SourceError(f"{path}: {size} bytes is over the {settings.max_file_bytes} byte limit")
        return path.read_bytes()
    except OSError as error:
        raise SourceError(f"{path}: cannot be read ({error.strerror or error})") from error


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
