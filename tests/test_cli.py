"""The `qa` command as a person types it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qa.cli import main

pytestmark = pytest.mark.slow

QA = str(Path(sys.executable).with_name("qa"))


def test_ask_prints_the_sentence_with_the_span_marked_and_the_source(index_dir, capsys):
    assert main(["ask", "Who is the Kremlin spokesman?", "--index", str(index_dir)]) == 0
    out = capsys.readouterr().out
    assert "Kremlin spokesman [[Dmitry Peskov]] indicated" in out
    assert "— The Diplomatic Arena" in out and "(diplomatic-arena.txt, characters" in out


def test_ask_json_is_the_answer_with_offsets_and_passages(index_dir, capsys):
    assert main(["ask", "Where did the US and Russian envoys meet?", "--json", "--index", str(index_dir)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["found"] is True and answer["text"] == "Miami"
    assert answer["sentence"][answer["start"] - answer["sentence_start"]:][:5] == "Miami"
    assert {"doc_id", "start", "end", "sentence_start", "sentence_end", "evidence", "passages"} <= set(answer)
    assert answer["passages"][0]["doc_id"]


def test_ask_says_when_the_sources_do_not_say(index_dir, capsys):
    assert main(["ask", "What is the capital of Australia?", "--index", str(index_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("The sources don't say.")
    assert "Closest passages:" in out


def test_search_json_gives_k_passages(index_dir, capsys):
    assert main(["search", "frozen Russian assets", "-k", "2", "--json", "--index", str(index_dir)]) == 0
    passages = json.loads(capsys.readouterr().out)
    assert len(passages) == 2
    assert any("frozen" in p["text"] for p in passages)


def test_empty_question_exits_2_with_a_message(index_dir, capsys):
    assert main(["ask", "   ", "--index", str(index_dir)]) == 2
    assert "the question is empty" in capsys.readouterr().err


def test_no_index_says_how_to_build_it(tmp_path, capsys):
    assert main(["ask", "Who met in Miami?", "--index", str(tmp_path / "none")]) == 1
    assert "run `qa index` to build it" in capsys.readouterr().err


def test_index_command_builds_then_reports_nothing_changed(seeds_dir, tmp_path, capsys):
    seeds = tmp_path / "seeds"
    shutil.copytree(seeds_dir, seeds)
    assert main(["index", "--seeds", str(seeds), "--index", str(tmp_path / "index")]) == 0
    first = capsys.readouterr().out
    assert "2 added, 0 changed, 0 removed, 0 unchanged" in first and "2 documents" in first
    assert main(["index", "--seeds", str(seeds), "--index", str(tmp_path / "index")]) == 0
    assert "0 added, 0 changed, 0 removed, 2 unchanged" in capsys.readouterr().out


def test_missing_seeds_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["index", "--seeds", str(tmp_path / "nope"), "--index", str(tmp_path / "i")]) == 1
    assert "seeds folder not found" in capsys.readouterr().err


def test_the_installed_console_script_runs(index_dir):
    done = subprocess.run([QA, "ask", "", "--index", str(index_dir)], capture_output=True, text=True)
    assert done.returncode == 2 and "empty" in done.stderr
    done = subprocess.run([QA, "search", "Miami", "-k", "1", "--index", str(index_dir)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Miami" in done.stdout


@pytest.mark.postgres
def test_a_shared_store_named_by_qa_store_is_indexed_and_asked(seeds_dir, pg_url, capsys, monkeypatch):
    monkeypatch.setenv("QA_STORE", pg_url)
    assert main(["index", "--seeds", str(seeds_dir), "--collection", "news"]) == 0
    out = capsys.readouterr().out
    assert "2 added" in out and "2 documents" in out and f"in {pg_url} (collection news) (v-" in out
    assert main(["ask", "Who is the Kremlin spokesman?", "--collection", "news"]) == 0
    assert "Kremlin spokesman [[Dmitry Peskov]] indicated" in capsys.readouterr().out
    assert main(["ask", "Who is the Kremlin spokesman?"]) == 1   # the default collection has no index
    assert "there is no index in" in capsys.readouterr().err


def test_a_sentence_transformers_folder_is_brought_with_model(seeds_dir, tmp_path, capsys):
    from qa import embedding

    model = tmp_path / "my-minilm"
    shutil.copytree(embedding.model_path(), model)
    index = str(tmp_path / "index")
    assert main(["index", "--seeds", str(seeds_dir), "--index", index, "--model", str(model)]) == 0
    manifest = json.loads((tmp_path / "index" / capsys.readouterr().out.split("(")[-1].strip(")\n")
                           / "manifest.json").read_text())
    assert manifest["fingerprint"]["embedding.model"] == str(model)
    assert main(["search", "Miami", "-k", "1", "--index", index, "--model", str(model)]) == 0
    assert "Miami" in capsys.readouterr().out
    assert main(["search", "Miami", "--index", index]) == 1  # the packaged model is another model
    assert f"open it with `--model {model}`" in capsys.readouterr().err
