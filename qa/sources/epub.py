"""EPUB: the chapters of a book in spine order, each read as HTML.

container.xml names the package (OPF) file; its manifest maps ids to files and its
spine gives the reading order. The standard library reads all of it; the chapters
go through `html_blocks`, so their headings are headings.
"""

from __future__ import annotations

import posixpath
from urllib.parse import unquote
from xml.etree import ElementTree

from qa.errors import SourceError
from qa.settings import SourceSettings
from qa.sources.document import Block, Converted
from qa.sources.guard import checked_zip, reading
from qa.sources.text import decode_text, html_blocks

CONTAINER = "META-INF/container.xml"
NAMESPACES = {"container": "urn:oasis:names:tc:opendocument:xmlns:container",
              "opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/"}
CHAPTER_TYPES = ("application/xhtml+xml", "text/html")


def convert_epub(data: bytes, path: str, settings: SourceSettings) -> Converted:
    """An EPUB book: its title, and its chapters' blocks in spine order, a blank line between them."""
    archive = checked_zip(data, path, "EPUB", settings)
    with archive, reading(path, "EPUB"):
        container = ElementTree.fromstring(archive.read(CONTAINER))
        rootfile = container.find(".//container:rootfile", NAMESPACES)
        if rootfile is None or not rootfile.get("full-path"):
            raise SourceError(f"{path}: is not a readable EPUB file (its container names no package file)")
        package_path = rootfile.get("full-path", "")
        package = ElementTree.fromstring(archive.read(package_path))
        items = {item.get("id"): item for item in package.iterfind("opf:manifest/opf:item", NAMESPACES)}
        blocks: list[Block] = []
        for reference in package.iterfind("opf:spine/opf:itemref", NAMESPACES):
            item = items.get(reference.get("idref"))
            if item is None or item.get("media-type") not in CHAPTER_TYPES:
                continue
            name = posixpath.normpath(posixpath.join(posixpath.dirname(package_path), unquote(item.get("href", ""))))
            text, _ = decode_text(archive.read(name), f"{path}/{name}")
            blocks.extend([*html_blocks(text).blocks, Block("")])
        title = package.findtext("opf:metadata/dc:title", "", NAMESPACES).strip()
        return Converted(title, blocks)
