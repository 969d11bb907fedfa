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
from contextlib import contextmanager, nullcontext
from pathlib import Path

import psycopg
import pytest
from stores import STORES, location

from qa import BuildLocked, Retriever, build_index
from qa.cli import main
from qa.settings import DEFAULT
from qa.store import open_store
from qa.store.layout import build_lock, current_version
from qa.store.manifest import reader_fingerprint

pytestmark = pytest.mark.slow

HARBOUR = ("Harbour report\n\nThe harbour of Eastport reopened on 3 May after the storm. "
           "Mayor Ingrid Solberg said the repairs cost $12 million.\n")
HARBOUR_EDITED = HARBOUR.replace("$12 million", "$15 million")
QUESTION = "How much did the Eastport harbour repairs cost?"


@pytest.fixture
def seeds(seeds_dir, tmp_path) -> Path:
    folder = tmp_path / "seeds"
    shutil.copytree(seeds_dir, folder)
    return folder


@pytest.fixture(params=STORES)
def index(request, tmp_path_factory) -> str:
    """Where a test's index goes: a folder, or a new PostgreSQL database."""
    return location(request, tmp_path_factory)


def live_documents(index: str | Path) -> set[str]:
    return set(open_store(index).open(reader_fingerprint(DEFAULT)).manifest.documents)


def test_add_edit_delete_follow_the_seeds_and_only_touch_what_changed(seeds, index):
    index_dir = index
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


def test_changed_chunking_settings_force_a_full_rebuild_and_say_so(seeds, tmp_path):
    index_dir = tmp_path / "index"
    first = build_index(seeds, index_dir, progress=False)
    shorter = DEFAULT.replace(chunking={"chunk_max_words": 60})
    stats = build_index(seeds, index_dir, progress=False, settings=shorter)
    assert stats.full_rebuild == "chunking.chunk_max_words was 120, now 60"
    assert stats.summary().startswith("full rebuild (chunking.chunk_max_words was 120, now 60): 2 added")
    assert stats.chunks > first.chunks  # the new setting took effect, not only its record
    assert build_index(seeds, index_dir, progress=False, settings=shorter).full_rebuild == ""


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


BUILD_SCRIPT = """import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
from qa import build_index
build_index(sys.argv[1], sys.argv[2], progress=False)"""


# a files build held once its staged version is complete on disk, before it is renamed and made
# current, so that the kill lands there every time: those last steps take milliseconds, and a kill
# sent when "writing index version" is logged could land after them (it did once, in CI)
HELD_BUILD_SCRIPT = """import time
from qa.store import layout
synced = layout.fsync_tree
def held(folder, only=None):
    synced(folder, only)
    if only:  # the manifest's fsync: the version is staged, not yet renamed
        time.sleep(60)
layout.fsync_tree = held
""" + BUILD_SCRIPT


def builder(seeds: Path, index_dir: Path | str, held: bool = False) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HELD_BUILD_SCRIPT if held else BUILD_SCRIPT, str(seeds),
                             str(index_dir)], stderr=subprocess.PIPE, text=True)


def kill_when(process: subprocess.Popen, line_start: str) -> None:
    """SIGKILL `process` as soon as it logs a line starting with `line_start`."""
    for line in process.stderr:
        if line.startswith(line_start):
            break
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()


@contextmanager
def versions_held(url: str):
    """Hold a shared store's `versions` table so that a build's transaction waits before its last
    insert, until the block ends: a kill then lands mid-transaction, every time."""
    with psycopg.connect(url) as connection, connection.transaction():
        connection.execute("LOCK TABLE qa_main.versions IN EXCLUSIVE MODE")
        yield


def wait_for_disconnect(url: str, pid: int) -> None:
    """Wait until PostgreSQL has seen a killed builder's connection go (and rolled it back)."""
    with psycopg.connect(url, autocommit=True) as connection:
        for _ in range(300):
            if not connection.execute("SELECT FROM pg_stat_activity WHERE application_name LIKE %s",
                                      (f"qa build pid {pid} %",)).fetchall():
                return
            time.sleep(0.1)
    raise AssertionError(f"the killed builder {pid} is still connected")


@pytest.mark.parametrize("stage", ["starting", "embedding", "writing index version",
                                   "switched to index version"])
def test_a_build_killed_at_any_stage_leaves_a_whole_index_answering(seeds, index, stage):
    index_dir = index
    shared = index.startswith("postgresql://")
    build_index(seeds, index_dir, progress=False)
    before = live_documents(index_dir)
    for number in range(20):
        (seeds / f"note-{number:02d}.txt").write_text(
            f"Note {number}\n\n" + " ".join(f"Item {number}.{k} was filed by clerk {k} in the archive of "
                                            f"Westport on day {k}." for k in range(12)))
    after = before | {f"note-{n:02d}.txt" for n in range(20)}
    with versions_held(index) if shared and stage == "writing index version" else nullcontext():
        process = builder(seeds, index_dir, held=not shared and stage == "writing index version")
        if stage == "starting":
            time.sleep(1.0)  # still importing and reading the seeds: nothing logged yet
            process.send_signal(signal.SIGKILL)
            process.wait()
            process.stderr.close()
        else:
            kill_when(process, stage)
    if shared:
        wait_for_disconnect(index, process.pid)
    assert live_documents(index_dir) == (after if stage.startswith("switched") else before)
    answer = Retriever.open(index_dir).answer("Who is the Kremlin spokesman?")
    assert answer.found and answer.text == "Dmitry Peskov"
    stats = build_index(seeds, index_dir, progress=False, wait=False)  # the dead builder's lock is free
    assert live_documents(index_dir) == after
    if not shared:
        leftovers = [p.name for p in Path(index).iterdir() if p.name != ".build.lock" and p.name != "CURRENT"]
        assert leftovers == [stats.version]  # half-written and superseded versions are cleaned up


def test_two_builders_at_once_make_one_whole_index(seeds, index):
    index_dir = index
    for number in range(10):
        (seeds / f"note-{number}.txt").write_text(f"Note {number}\n\nClerk {number} filed item {number}.")
    builders = [builder(seeds, index_dir) for _ in range(2)]
    errors = [b.communicate(timeout=300)[1] for b in builders]
    assert [b.returncode for b in builders] == [0, 0], errors
    assert len(live_documents(index_dir)) == 12
    if not index.startswith("postgresql://"):
        assert len([p for p in Path(index).iterdir() if p.is_dir()]) == 1
    assert Retriever.open(index_dir).answer("Who filed item 7?").found


def test_a_second_builder_that_will_not_wait_names_the_holder(seeds, tmp_path, capsys):
    index_dir = tmp_path / "index"
    with build_lock(index_dir):
        with pytest.raises(BuildLocked, match=f"pid {os.getpid()}"):
            build_index(seeds, index_dir, progress=False, wait=False)
        assert main(["index", "--no-wait", "--seeds", str(seeds), "--index", str(index_dir)]) == 1
    assert f"another build (pid {os.getpid()}) is running" in capsys.readouterr().err


def test_a_lock_left_by_a_killed_builder_is_taken_over(seeds, tmp_path):
    index_dir = tmp_path / "index"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from qa.store.layout import build_lock\n"
        "with build_lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(600)"),
        str(index_dir)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(BuildLocked, match=f"pid {holder.pid}"):
        build_index(seeds, index_dir, progress=False, wait=False)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    holder.stdout.close()
    assert (index_dir / ".build.lock").read_text() == str(holder.pid)  # the stale file is still there
    assert build_index(seeds, index_dir, progress=False, wait=False).documents == 2


def test_watch_rebuilds_when_a_seed_changes(seeds, tmp_path):
    from qa.watch import watch

    index_dir = tmp_path / "index"
    build_index(seeds, index_dir, progress=False)
    retriever = Retriever.open(index_dir)
    stop, built = threading.Event(), []
    def rebuild():
        built.append(build_index(seeds, index_dir, progress=False))
        retriever.refresh()

    watcher = threading.Thread(target=watch, args=(seeds, rebuild), kwargs={"stop": stop}, daemon=True)
    watcher.start()
    try:
        deadline = time.monotonic() + 60
        while not built and time.monotonic() < deadline:
            (seeds / "harbour.txt").write_text(HARBOUR)  # again until the watcher, once started, sees it
            time.sleep(1.0)
        assert built and built[0].added == 1
        assert retriever.answer(QUESTION).text == "$12 million"
    finally:
        stop.set()
        watcher.join(timeout=10)


def test_a_large_corpus_gets_an_ivf_index_that_answers_the_same(seeds, tmp_path):
    settings = DEFAULT.replace(index={"ivf_min_chunks": 10})  # the seeds' 24 chunks count as large
    stats = build_index(seeds, tmp_path / "index", progress=False, settings=settings)
    manifest = json.loads((current_version(tmp_path / "index") / "manifest.json").read_text())
    assert stats.chunks >= 10 and [s["vectors"] for s in manifest["segments"].values()] == ["ivf"]
    retriever = Retriever.open(tmp_path / "index", settings=settings)
    assert all("IVF" in type(s.segment.chunk_index.index).__name__ for s in retriever._opened.reader.segments)
    assert retriever.answer("Who is the Kremlin spokesman?").text == "Dmitry Peskov"


def segments_of(index_dir: Path) -> list[str]:
    return list(json.loads((current_version(index_dir) / "manifest.json").read_text())["segments"])


def test_a_change_writes_one_small_segment_and_shares_the_rest(seeds, tmp_path):
    index_dir = tmp_path / "index"
    build_index(seeds, index_dir, progress=False)
    (base,) = segments_of(index_dir)
    (seeds / "harbour.txt").write_text(HARBOUR)
    build_index(seeds, index_dir, progress=False)
    assert segments_of(index_dir)[0] == base and len(segments_of(index_dir)) == 2
    (seeds / "harbour.txt").write_text(HARBOUR.replace("$12 million", "$15 million"))
    build_index(seeds, index_dir, progress=False)
    base_vectors = current_version(index_dir) / base / "sentence_codes.npy"
    assert base in segments_of(index_dir) and base_vectors.stat().st_nlink == 1  # old versions gone
    retriever = Retriever.open(index_dir)
    passages = retriever.search("Eastport harbour repairs cost", k=100)
    assert len(passages) == retriever.manifest.chunks
    for passage in passages:  # the edited document's old copy is dead: never returned
        assert retriever.document(passage.doc_id).text[passage.start:passage.end] == passage.text
        assert "$12 million" not in passage.text
    assert retriever.answer(QUESTION).text == "$15 million"


def test_too_many_segments_are_merged_into_one(seeds, tmp_path):
    settings = DEFAULT.replace(index={"max_segments": 2})
    index_dir = tmp_path / "index"
    build_index(seeds, index_dir, progress=False, settings=settings)
    (seeds / "harbour.txt").write_text(HARBOUR)
    build_index(seeds, index_dir, progress=False, settings=settings)
    assert len(segments_of(index_dir)) == 2
    (seeds / "note.txt").write_text("Note\n\nClerk Ada Brook filed the ferry report on 4 June.")
    stats = build_index(seeds, index_dir, progress=False, settings=settings)
    assert len(segments_of(index_dir)) == 1 and stats.added == 1 and stats.embedded_texts < 10
    retriever = Retriever.open(index_dir)
    assert retriever.answer(QUESTION).text == "$12 million"
    assert "Ada Brook" in retriever.answer("Who filed the ferry report?").text
    assert retriever.answer("Who is the Kremlin spokesman?").text == "Dmitry Peskov"
