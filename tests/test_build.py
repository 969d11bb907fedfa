"""Keeping the index fresh: incremental builds, crashes, concurrent builders, watching."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from qa import BuildLocked, Retriever, build_index, chunking
from qa.build import build_lock
from qa.cli import main
from qa.index import current_version

HARBOUR = ("Harbour report\n\nThe harbour of Eastport reopened on 3 May after the storm. "
           "Mayor Ingrid Solberg said the repairs cost $12 million.\n")
HARBOUR_EDITED = HARBOUR.replace("$12 million", "$15 million")
QUESTION = "How much did the Eastport harbour repairs cost?"


@pytest.fixture
def seeds(seeds_dir, tmp_path) -> Path:
    folder = tmp_path / "seeds"
    shutil.copytree(seeds_dir, folder)
    return folder


def live_documents(index_dir: Path) -> set[str]:
    return set(json.loads((current_version(index_dir) / "manifest.json").read_text())["documents"])


def test_add_edit_delete_follow_the_seeds_and_only_touch_what_changed(seeds, tmp_path):
    index_dir = tmp_path / "index"
    first = build_index(seeds, index_dir, progress=False)
    assert (first.added, first.unchanged) == (2, 0)
    assert not Retriever.open(index_dir).answer(QUESTION).found

    (seeds / "harbour.txt").write_text(HARBOUR)
    added = build_index(seeds, index_dir, progress=False)
    assert (added.added, added.changed, added.removed, added.unchanged) == (1, 0, 0, 2)
    assert added.embedded_texts < first.embedded_texts  # the seeds were not embedded again
    answer = Retriever.open(index_dir).answer(QUESTION)
    assert answer.found and answer.doc_id == "harbour.txt" and answer.text == "$12 million"

    (seeds / "harbour.txt").write_text(HARBOUR_EDITED)
    changed = build_index(seeds, index_dir, progress=False)
    assert (changed.added, changed.changed, changed.unchanged) == (0, 1, 2)
    assert changed.summary().startswith("0 added, 1 changed, 0 removed, 2 unchanged; ")
    assert Retriever.open(index_dir).answer(QUESTION).text == "$15 million"

    (seeds / "harbour.txt").unlink()
    removed = build_index(seeds, index_dir, progress=False)
    assert (removed.removed, removed.unchanged) == (1, 2)
    assert not Retriever.open(index_dir).answer(QUESTION).found
    assert live_documents(index_dir) == {"diplomatic-arena.txt", "us-russia-talks-stall.txt"}


def test_nothing_changed_keeps_the_same_version(seeds, tmp_path):
    first = build_index(seeds, tmp_path / "index", progress=False)
    again = build_index(seeds, tmp_path / "index", progress=False)
    assert again.version == first.version and again.embedded_texts == 0


def test_old_versions_are_removed_after_a_switch(seeds, tmp_path):
    index_dir = tmp_path / "index"
    build_index(seeds, index_dir, progress=False)
    (seeds / "harbour.txt").write_text(HARBOUR)
    stats = build_index(seeds, index_dir, progress=False)
    versions = [p.name for p in index_dir.iterdir() if p.is_dir()]
    assert versions == [stats.version]


def test_changed_chunking_settings_force_a_full_rebuild_and_say_so(seeds, tmp_path, monkeypatch):
    index_dir = tmp_path / "index"
    build_index(seeds, index_dir, progress=False)
    monkeypatch.setitem(chunking.SETTINGS, "chunk_max_words", 60)
    stats = build_index(seeds, index_dir, progress=False)
    assert stats.full_rebuild == "chunking changed"
    assert stats.summary().startswith("full rebuild (chunking changed): 2 added")


def test_a_file_that_becomes_undecodable_keeps_its_last_good_version(seeds, tmp_path, caplog):
    index_dir = tmp_path / "index"
    (seeds / "harbour.txt").write_text(HARBOUR)
    build_index(seeds, index_dir, progress=False)
    (seeds / "harbour.txt").write_bytes(b"\xff\xfe\x00garbage\x00")
    with caplog.at_level(logging.WARNING):
        stats = build_index(seeds, index_dir, progress=False)
    assert "harbour.txt" in caplog.text and "previous version stays indexed" in caplog.text
    assert len(stats.skipped) == 1 and stats.documents == 3
    assert Retriever.open(index_dir).answer(QUESTION).text == "$12 million"


def test_a_file_that_cannot_be_read_mid_build_is_skipped_and_the_rest_indexed(seeds, tmp_path, monkeypatch, caplog):
    (seeds / "harbour.txt").write_text(HARBOUR)
    real_read_bytes = Path.read_bytes

    def read_bytes(path):
        if path.name == "harbour.txt":
            raise PermissionError(13, "Permission denied", str(path))
        return real_read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with caplog.at_level(logging.WARNING):
        stats = build_index(seeds, tmp_path / "index", progress=False)
    assert "harbour.txt" in caplog.text and "Permission denied" in caplog.text
    assert stats.documents == 2 and stats.skipped
    assert Retriever.open(tmp_path / "index").answer("Who is the Kremlin spokesman?").found


BUILD_SCRIPT = "import sys; from qa import build_index; build_index(sys.argv[1], sys.argv[2], progress=False)"


def test_a_build_killed_at_any_moment_leaves_the_previous_index_answering(seeds, tmp_path):
    index_dir = tmp_path / "index"
    build_index(seeds, index_dir, progress=False)
    before = live_documents(index_dir)
    for number in range(40):  # enough new text that a build takes a few seconds
        (seeds / f"note-{number:02d}.txt").write_text(
            f"Note {number}\n\n" + " ".join(f"Item {number}.{k} was filed by clerk {k} in the archive of "
                                          f"Westport on day {k}." for k in range(12)))
    after = before | {f"note-{n:02d}.txt" for n in range(40)}
    for delay in (0.5, 2.0, 3.5, 5.0, 6.5):
        builder = subprocess.Popen([sys.executable, "-c", BUILD_SCRIPT, str(seeds), str(index_dir)])
        time.sleep(delay)
        builder.send_signal(signal.SIGKILL)
        builder.wait()
        assert live_documents(index_dir) in (before, after)  # one whole version, never a mixture
        answer = Retriever.open(index_dir).answer("Who is the Kremlin spokesman?")
        assert answer.found and answer.text == "Dmitry Peskov"
    stats = build_index(seeds, index_dir, progress=False)  # the killed builders' lock is taken over
    assert live_documents(index_dir) == after
    assert [p.name for p in index_dir.iterdir() if p.is_dir()] == [stats.version]  # leftovers cleaned


def test_two_builders_at_once_make_one_whole_index(seeds, tmp_path):
    index_dir = tmp_path / "index"
    for number in range(10):
        (seeds / f"note-{number}.txt").write_text(f"Note {number}\n\nClerk {number} filed item {number}.")
    builders = [subprocess.Popen([sys.executable, "-c", BUILD_SCRIPT, str(seeds), str(index_dir)],
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [b.communicate(timeout=300)[1] for b in builders]
    assert [b.returncode for b in builders] == [0, 0], errors
    assert len(live_documents(index_dir)) == 12
    assert len([p for p in index_dir.iterdir() if p.is_dir()]) == 1
    assert Retriever.open(index_dir).answer("Who filed item 7?").found


def test_a_second_builder_that_will_not_wait_names_the_holder(seeds, tmp_path, capsys):
    index_dir = tmp_path / "index"
    with build_lock(index_dir):
        with pytest.raises(BuildLocked, match=f"pid {os.getpid()}"):
            build_index(seeds, index_dir, progress=False, wait=False)
        assert main(["index", "--no-wait", "--seeds", str(seeds), "--index", str(index_dir)]) == 1
    assert f"another build (pid {os.getpid()}) is running" in capsys.readouterr().err


def test_a_stale_lock_file_from_a_dead_process_is_taken_over(seeds, tmp_path):
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    (index_dir / ".build.lock").write_text("999999")
    stats = build_index(seeds, index_dir, progress=False, wait=False)
    assert stats.documents == 2


def test_watch_rebuilds_when_a_seed_changes(seeds, tmp_path):
    from qa.watch import watch

    index_dir = tmp_path / "index"
    build_index(seeds, index_dir, progress=False)
    retriever = Retriever.open(index_dir)
    stop, built = threading.Event(), []
    watcher = threading.Thread(target=watch, args=(seeds, index_dir),
                               kwargs={"on_build": lambda s: (retriever.refresh(), built.append(s)),
                                       "stop": stop}, daemon=True)
    watcher.start()
    try:
        time.sleep(0.5)
        (seeds / "harbour.txt").write_text(HARBOUR)
        deadline = time.monotonic() + 60
        while not built and time.monotonic() < deadline:
            time.sleep(0.1)
        assert built and built[-1].added == 1
        assert retriever.answer(QUESTION).text == "$12 million"
    finally:
        stop.set()
        watcher.join(timeout=10)


def test_a_large_corpus_gets_an_hnsw_index_that_answers_the_same(seeds, tmp_path, monkeypatch):
    from qa import index

    monkeypatch.setattr(index, "HNSW_MIN_CHUNKS", 10)  # the seeds' 24 chunks count as large
    stats = build_index(seeds, tmp_path / "index", progress=False)
    manifest = json.loads((current_version(tmp_path / "index") / "manifest.json").read_text())
    assert stats.chunks >= 10 and manifest["faiss"] == "HNSW"
    retriever = Retriever.open(tmp_path / "index")
    assert "HNSW" in type(retriever._search.data.faiss_index).__name__
    assert retriever.answer("Who is the Kremlin spokesman?").text == "Dmitry Peskov"
