"""The seeds folder as the web app changes it: uploads saved atomically, documents deleted.

The app never indexes here: it changes files, and the watcher (or a rebuild the
app starts) indexes them like any other change to the seeds.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from qa import QAError
from qa.sources import CONVERTERS

CHUNK = 1024 * 1024
UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|#%]+')


class UploadRefused(QAError):
    """An upload that cannot be saved: no name, a format qa does not read, or too big."""

    status = 400


class UnsupportedFormat(UploadRefused):
    status = 415


class TooLarge(UploadRefused):
    status = 413


class NotInSeeds(QAError):
    """A document to delete that is not a file of the seeds folder."""

    status = 404


@dataclass(frozen=True)
class Saved:
    """An uploaded file now in the seeds folder: its document id and size."""

    id: str
    size: int


def safe_name(name: str) -> str:
    """A file name fit for the seeds folder: the last part of what the browser sent, in NFC,
    without control characters, path or URL-special characters, leading dots or spaces,
    at most 150 characters (the suffix kept); `UploadRefused` when nothing is left."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    stem, suffix = os.path.splitext(UNSAFE.sub("-", name).strip(" .-"))
    stem = stem.strip(" .-")[:150 - len(suffix)]
    if not stem:
        raise UploadRefused(f"the file name {name!r} has nothing usable in it")
    return stem + suffix.lower()


def free_name(folder: Path, name: str) -> Path:
    """`folder/name`, or `folder/stem (2).suffix` and so on when the name is taken."""
    stem, suffix = os.path.splitext(name)
    path, n = folder / name, 1
    while path.exists():
        n += 1
        path = folder / f"{stem} ({n}){suffix}"
    return path


def save_upload(seeds_dir: Path, name: str, data: BinaryIO, max_bytes: int) -> Saved:
    """Write one uploaded file into `seeds_dir` under a safe, free name: into a hidden temporary
    file first (which the watcher ignores), then linked into place, so the watcher never reads
    half a file. `UnsupportedFormat` or `TooLarge` (nothing is written then)."""
    name = safe_name(name)
    suffix = os.path.splitext(name)[1]
    if suffix not in CONVERTERS:
        raise UnsupportedFormat(f"{name}: qa does not read {suffix or 'files without a suffix'} files "
                                f"(it reads {', '.join(sorted(CONVERTERS))})")
    seeds_dir.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=seeds_dir, prefix=".upload-", suffix=".part")
    size = 0
    try:
        with os.fdopen(handle, "wb") as out:
            while block := data.read(CHUNK):
                size += len(block)
                if size > max_bytes:
                    raise TooLarge(f"{name}: larger than the {max_bytes:,} byte limit")
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        while True:  # a hard link never replaces a file that appeared meanwhile
            target = free_name(seeds_dir, name)
            try:
                os.link(temporary, target)
                break
            except FileExistsError:
                continue
    finally:
        Path(temporary).unlink(missing_ok=True)
    return Saved(target.relative_to(seeds_dir).as_posix(), size)


def seed_path(seeds_dir: Path, doc_id: str) -> Path:
    """The seed file of document `doc_id`; `NotInSeeds` unless it is a regular file inside
    `seeds_dir` (never a path outside it, whatever the id says or a link points to)."""
    root = seeds_dir.resolve()
    path = (seeds_dir / doc_id).resolve()
    if root not in path.parents or not path.is_file():
        raise NotInSeeds(f"{doc_id!r} is not a file of the seeds folder")
    return path


def delete_document(seeds_dir: Path, doc_id: str) -> None:
    """Remove the seed file of document `doc_id` (see `seed_path`)."""
    seed_path(seeds_dir, doc_id).unlink()


def file_format(doc_id: str) -> str:
    """A document's format as a reader names it: its suffix without the dot ('txt', 'pdf')."""
    return os.path.splitext(doc_id)[1].lstrip(".").lower()
