"""The seeds folder as people leave it: links out of it, folders that cannot be read, emptied
files, files of other formats, and very long lines. Builds use the stand-in models (fast)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from fast_encoder import WordAnalyser, WordHashEncoder

from qa import build_index
from qa.chunking import split_sentences
from qa.settings import DEFAULT
from qa.sources import parse_document, source_files
from qa.store.layout import current_version

HARBOUR = "Harbour report\n\nThe harbour of Eastport reopened on 3 May after the storm."
FERRY = "Ferry notes\n\nThe ferry to Westby runs twice a day in summer."


def build(seeds: Path, index_dir: Path):
    return build_index(seeds, index_dir, progress=False, encoder=WordHashEncoder(), analyser=WordAnalyser())


def live_documents(index_dir: Path) -> set[str]:
    return set(json.loads((current_version(index_dir) / "manifest.json").read_text())["documents"])


@pytest.fixture
def seeds(tmp_path) -> Path:
    folder = tmp_path / "seeds"
    (folder / "ferries").mkdir(parents=True)
    (folder / "harbour.txt").write_text(HARBOUR)
    (folder / "ferries" / "ferry.txt").write_text(FERRY)
    return folder


def test_a_link_that_leads_outside_the_seeds_is_not_followed(seeds, tmp_path, caplog):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "passwords.txt").write_text("root password: hunter2")
    (seeds / "passwd.txt").symlink_to("/etc/passwd")
    (seeds / "secret.txt").symlink_to(secret / "passwords.txt")
    (seeds / "secrets").symlink_to(secret, target_is_directory=True)
    (seeds / "harbour-again.txt").symlink_to(seeds / "harbour.txt")  # inside: followed
    with caplog.at_level(logging.WARNING):
        stats = build(seeds, tmp_path / "index")
    assert live_documents(tmp_path / "index") == {"harbour.txt", "harbour-again.txt", "ferries/ferry.txt"}
    outside = [reason for reason in stats.skipped if "outside the seeds folder; not followed" in reason]
    assert len(outside) == 3 and any("passwd.txt: a link to /etc/passwd" in reason for reason in outside)
    assert "passwd.txt" in caplog.text and "secrets" in caplog.text


def test_a_folder_that_cannot_be_read_keeps_its_documents(seeds, tmp_path, monkeypatch, caplog):
    """We run as root, whom chmod 000 does not stop: listing the folder is made to fail instead."""
    build(seeds, tmp_path / "index")
    real_scandir = os.scandir

    def scandir(path="."):
        if isinstance(path, str | Path) and Path(path).name == "ferries":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    (seeds / "bridge.txt").write_text("Bridge notes\n\nStorm damage closed the railway bridge.")
    with caplog.at_level(logging.WARNING):
        stats = build(seeds, tmp_path / "index")
    assert live_documents(tmp_path / "index") == {"harbour.txt", "bridge.txt", "ferries/ferry.txt"}
    assert (stats.added, stats.removed) == (1, 0)
    assert any("ferries: folder cannot be read (Permission denied)" in reason for reason in stats.skipped)
    assert "kept ferries/ferry.txt at its last good version" in caplog.text


def test_an_emptied_file_leaves_the_index_and_the_log_says_so(seeds, tmp_path, caplog):
    build(seeds, tmp_path / "index")
    (seeds / "harbour.txt").write_text("  \n")
    with caplog.at_level(logging.WARNING):
        stats = build(seeds, tmp_path / "index")
    assert live_documents(tmp_path / "index") == {"ferries/ferry.txt"}
    assert stats.removed == 1
    assert "harbour.txt: is empty (its previous version is removed from the index)" in caplog.text


def test_files_of_other_formats_are_listed_with_the_reason_and_hidden_files_ignored(seeds, tmp_path):
    (seeds / "budget.xlsx").write_bytes(b"PK\x03\x04")
    (seeds / "README").write_text("read me")
    (seeds / ".DS_Store").write_bytes(b"\x00\x00")
    (seeds / ".hidden").mkdir()
    (seeds / ".hidden" / "draft.txt").write_text("A draft.")
    found = source_files(seeds)
    assert [path.name for path in found.files] == ["ferry.txt", "harbour.txt"]
    assert sorted(found.skipped) == [f"{seeds}/README: not a supported format",
                                     f"{seeds}/budget.xlsx: not a supported format"]
    stats = build(seeds, tmp_path / "index")
    assert stats.documents == 2 and sorted(stats.skipped) == sorted(found.skipped)


def test_a_fact_in_the_middle_of_a_very_long_line_is_a_sentence_of_its_own():
    filler = " ".join(f"Crew {n} painted the hull of boat number {n} in the dry dock." for n in range(300))
    fact = "The harbour master of Eastport is Ingrid Solberg."
    text = f"{filler} {fact} {filler}"
    assert len(text) > 2 * DEFAULT.chunking.max_line_chars and "\n" not in text
    document = parse_document(text.encode(), "log.txt", "log.txt")
    sentences = split_sentences(document)
    assert fact in [s.text for s in sentences]
    assert all(document.text[s.start:s.end] == s.text for s in sentences)
    assert len(sentences) == 601


def test_a_line_without_punctuation_is_cut_into_sentences_of_bounded_length():
    words = [f"word{n}" for n in range(3000)]
    words[1500:1500] = ["Ingrid", "Solberg", "runs", "the", "harbour"]
    document = parse_document(" ".join(words).encode(), "list.txt", "list.txt")
    sentences = split_sentences(document)
    limit = DEFAULT.chunking.sentence_max_words
    assert all(len(s.text.split()) <= limit for s in sentences)
    assert " ".join(s.text for s in sentences) == document.text  # nothing lost between the pieces
    assert [s for s in sentences if "Ingrid Solberg runs the harbour" in s.text]
