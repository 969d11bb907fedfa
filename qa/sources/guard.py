"""Guards for untrusted files: zip archives checked before they are unpacked, and any
parser failure turned into a `SourceError` that names the file."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

from qa.errors import SourceError
from qa.settings import SourceSettings


def checked_zip(data: bytes, path: str, kind: str, settings: SourceSettings) -> zipfile.ZipFile:
    """The zip archive of an Office or EPUB file, once its entries are known to unpack within
    `max_file_bytes` (a zip bomb is refused before anything is inflated)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        unpacked = sum(entry.file_size for entry in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as error:
        raise SourceError(f"{path}: is not a readable {kind} file (a damaged zip archive: {error})") from error
    if unpacked > settings.max_file_bytes:
        raise SourceError(f"{path}: unpacks to {unpacked} bytes, over the {settings.max_file_bytes} byte "
                          f"limit (a zip bomb?)")
    return archive


@contextmanager
def reading(path: str, kind: str) -> Iterator[None]:
    """Turn whatever a format's parser raises on a damaged file into a `SourceError`.

    Parsers of untrusted files fail in many ways (KeyError for a missing part, lxml
    syntax errors, zlib errors); the build must skip the file and go on whatever it is.
    """
    try:
        yield
    except SourceError:
        raise
    except Exception as error:  # any failure of a parser means a damaged file
        raise SourceError(f"{path}: is not a readable {kind} file ({type(error).__name__}: {error})") from error
