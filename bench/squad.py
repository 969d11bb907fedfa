"""Retrieval and answer benchmark on a SQuAD 2.0 slice.

    python -m bench.squad --data ../shared/bench/squad-dev-subset.json [--txtai [--builds N]] [--store postgresql]

Each paragraph becomes one source file in a temporary seeds folder; the index
is built through the public API; every question is searched and answered.
Prints paragraph R@1/R@5/R@20; for answerable questions, what the answerer
picks (sentence hit@1, span exact match and token F1 with SQuAD's
normalisation); then the abstention at `min_confidence` (answerable questions
answered and how many of those are right, no-answer questions abstained, and
SQuAD 2.0's F1 over all questions); build time and warm answer() latency. With
--txtai (needs `pip install -e .[bench]`) the same run measures txtai's hybrid
index on the same files and model; its build time, and qa's, are then the
medians of `--builds` builds of each (default 5), the two taking turns, since
one build of each moves with whatever else the machine does. The picks and the abstention are read from
one run with the threshold at 0: an answer's `confidence` says whether the
default threshold would have kept it. With --store, the same run is made on the
shared store too and both are printed side by side: `--store postgresql` starts
a throwaway PostgreSQL + pgvector server (bench/pgserver.py, PostgreSQL's
default durability) as the tests do; a postgresql:// URL uses yours, in the
collection `squad` (an existing one is updated, and the build time then counts
only what changed). The side-by-side latencies are measured again with the two
stores taking turns question by question, so that load from elsewhere on the
machine falls on both alike.

Data: SQuAD 2.0 dev (CC BY-SA 4.0), Rajpurkar et al. 2016 and 2018.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.metrics import best_f1, exact
from qa import Retriever, build_index, chunking, language
from qa.build import load_models
from qa.settings import DEFAULT, Settings
from qa.sources import read_document

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "bench" / "squad-dev-subset.json"
RECALL_AT = (1, 5, 20)


@dataclass
class Question:
    text: str
    doc_id: str
    answers: list[str]


def write_seeds(data_path: Path, seeds: Path) -> list[Question]:
    """One file per paragraph; the questions with the id of their paragraph's file."""
    questions = []
    for article in json.loads(data_path.read_text())["data"]:
        for number, paragraph in enumerate(article["paragraphs"]):
            doc_id = f"{article['title']}-{number:03d}.txt"
            (seeds / doc_id).write_text(paragraph["context"], encoding="utf-8")
            for qa in paragraph["qas"]:
                answers = [a["text"] for a in qa["answers"]]
                questions.append(Question(qa["question"], doc_id, answers))
    return questions


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def sentences_in(seeds: Path, settings: Settings) -> int:
    """How many sentences a build of `seeds` parses (it picks its models by that)."""
    return sum(len(chunking.chunk_document(read_document(path, seeds, settings.sources), settings.chunking)[1])
               for path in sorted(seeds.iterdir()))


def unique_docs(doc_ids: list[str]) -> list[str]:
    return list(dict.fromkeys(doc_ids))


def recall(rankings: list[list[str]], questions: list[Question]) -> dict[int, float]:
    return {k: sum(q.doc_id in ranked[:k] for ranked, q in zip(rankings, questions, strict=True)) / len(questions)
            for k in RECALL_AT}


def run_qa(seeds: Path, index: Path | str, questions: list[Question], settings: Settings = DEFAULT) -> dict:
    """Build our index in `index` (a folder or a postgresql:// URL) and measure retrieval, answers
    and latency."""
    _, analyser = load_models(settings, sentences_in(seeds, settings))  # the models load before the clock, as txtai's
    if isinstance(analyser, language.ParsingProcess):
        analyser.ready()
    stats = build_index(seeds, index, progress=False, settings=settings)
    threshold = settings.answering.min_confidence
    every_pick = settings.replace(answering={"min_confidence": 0.0})
    picker = Retriever.open(index, every_pick)
    retriever = Retriever.open(index, settings)
    answerable = [q for q in questions if q.answers]
    impossible = [q for q in questions if not q.answers]
    rankings = [unique_docs([p.doc_id for p in retriever.search(q.text, k=60)]) for q in answerable]

    hits = exacts = f1 = whole = answered = answered_right = 0.0
    squad2 = 0.0
    for q in answerable:
        answer = picker.answer(q.text)
        hits += answer.doc_id == q.doc_id and any(gold in answer.sentence for gold in q.answers)
        exacts += exact(answer.text, q.answers)
        f1 += best_f1(answer.text, q.answers)
        whole += answer.found and answer.text == answer.sentence
        if answer.confidence >= threshold:
            answered += 1
            answered_right += best_f1(answer.text, q.answers) >= 0.5
            squad2 += best_f1(answer.text, q.answers)
    abstained = sum(picker.answer(q.text).confidence < threshold for q in impossible)
    squad2 += abstained

    search_ms = timed(lambda q: retriever.search(q, k=20), questions)
    answer_ms = timed(retriever.answer, questions)
    return {
        "recall": recall(rankings, answerable),
        "sentence_hit": hits / len(answerable),
        "exact": exacts / len(answerable),
        "f1": f1 / len(answerable),
        "whole": whole / len(answerable),
        "answered": answered / len(answerable),
        "answered_right": answered_right / max(1, answered),
        "abstained": abstained / max(1, len(impossible)),
        "squad2": squad2 / len(questions),
        "build_s": stats.seconds,
        "texts_per_s": stats.embedded_texts / stats.embed_seconds,
        "embed_s": stats.embed_seconds,
        "parse_s": stats.parse_seconds,
        "search_p50": statistics.median(search_ms), "search_p99": percentile(search_ms, 0.99),
        "answer_p50": statistics.median(answer_ms), "answer_p99": percentile(answer_ms, 0.99),
    }


def timed(call, questions: list[Question]) -> list[float]:
    """Milliseconds of `call(question)` for every question, warm."""
    latencies = []
    for q in questions:
        started = time.perf_counter()
        call(q.text)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def interleaved(calls: list, questions: list[Question]) -> list[list[float]]:
    """Milliseconds of each of `calls` on every question, warm, the calls taking turns question by
    question (the first one first on even questions): on a machine others share, a burst of load
    falls on all of them alike."""
    latencies: list[list[float]] = [[] for _ in calls]
    for number, q in enumerate(questions):
        order = range(len(calls)) if number % 2 == 0 else reversed(range(len(calls)))
        for which in order:
            started = time.perf_counter()
            calls[which](q.text)
            latencies[which].append((time.perf_counter() - started) * 1000)
    return latencies


def compare_latency(embedded: dict, shared: dict, stores: list, questions: list[Question]) -> None:
    """Measure search() and answer() on both stores again, interleaved, into their results."""
    retrievers = [Retriever.open(store, settings) for store, settings in stores]
    for name, call in (("search", lambda r: lambda q: r.search(q, k=20)), ("answer", lambda r: r.answer)):
        for results, latencies in zip((embedded, shared), interleaved([call(r) for r in retrievers], questions),
                                      strict=True):
            results[f"{name}_p50"] = statistics.median(latencies)
            results[f"{name}_p99"] = percentile(latencies, 0.99)


def txtai_index(seeds: Path):
    """txtai 9 with hybrid=True (FAISS + BM25) and our model, loaded; and a function that indexes
    the files of `seeds` with it and returns the seconds that took."""
    import torch
    from txtai import Embeddings

    from qa.embedding import model_path

    files = sorted(seeds.iterdir())
    embeddings = Embeddings(path=str(model_path()), hybrid=True, backend="faiss", content=False)
    embeddings.index([("warm-up", "the model loads before the clock starts", None)])

    def build() -> float:
        """Seconds to index `seeds`, with a thread per core, as in a process of its own: FAISS's
        thread setting, which qa's loaded index makes one, reaches torch's OpenMP in this one."""
        searching = torch.get_num_threads()
        torch.set_num_threads(os.cpu_count() or 1)
        try:
            started = time.perf_counter()
            embeddings.index((f.name, f.read_text(encoding="utf-8"), None) for f in files)
            return time.perf_counter() - started
        finally:
            torch.set_num_threads(searching)
    return embeddings, build


def run_txtai(seeds: Path, questions: list[Question]) -> dict:
    """txtai's index of the same files and model: its build time, recall and search latency."""
    embeddings, build = txtai_index(seeds)
    build_s = build()
    answerable = [q for q in questions if q.answers]
    rankings, latencies = [], []
    for q in answerable:
        started = time.perf_counter()
        results = embeddings.search(q.text, 20)
        latencies.append((time.perf_counter() - started) * 1000)
        rankings.append([doc_id for doc_id, _ in results])
    return {"recall": recall(rankings, answerable), "build_s": build_s,
            "p50": statistics.median(latencies), "p99": percentile(latencies, 0.99)}


def compare_builds(seeds: Path, settings: Settings, rounds: int, ours: dict, theirs: dict) -> None:
    """Build qa's index and txtai's of the same files `rounds` times each, taking turns, and put the
    medians in the results (each system's builds are printed too)."""
    _, build_txtai = txtai_index(seeds)
    mine, other = [ours["build_s"]], [theirs["build_s"]]
    for _ in range(rounds - 1):
        with tempfile.TemporaryDirectory() as index:
            mine.append(build_index(seeds, index, progress=False, settings=settings).seconds)
        other.append(build_txtai())
    ours["build_s"], theirs["build_s"] = statistics.median(mine), statistics.median(other)
    print("builds (s), taking turns: qa " + ", ".join(f"{s:.1f}" for s in mine)
          + "; txtai " + ", ".join(f"{s:.1f}" for s in other)
          + "; ratios " + ", ".join(f"{a / b:.2f}" for a, b in zip(mine, other, strict=True)))


def print_table(ours: dict, txtai: dict | None) -> None:
    rows = [(f"paragraph R@{k}", ours["recall"][k], txtai and txtai["recall"][k], "{:.3f}")
            for k in RECALL_AT]
    threshold = DEFAULT.answering.min_confidence
    rows += [
        ("sentence hit@1 (answerable)", ours["sentence_hit"], None, "{:.3f}"),
        ("span exact match (answerable)", ours["exact"], None, "{:.3f}"),
        ("span token F1 (answerable)", ours["f1"], None, "{:.3f}"),
        ("answers that are whole sentences", ours["whole"], None, "{:.3f}"),
        (f"answerable questions answered (confidence >= {threshold})", ours["answered"], None, "{:.3f}"),
        ("answered ones right (F1 >= 0.5)", ours["answered_right"], None, "{:.3f}"),
        ("no-answer questions abstained", ours["abstained"], None, "{:.3f}"),
        ("SQuAD 2.0 F1, all questions, with abstention", ours["squad2"], None, "{:.3f}"),
        ("build time, models loaded (s)" + (", median" if txtai else ""), ours["build_s"],
         txtai and txtai["build_s"], "{:.1f}"),
        ("of the build: embedding chunks and sentences (s)", ours["embed_s"], None, "{:.1f}"),
        ("of the build: parsing every sentence with spaCy (s)", ours["parse_s"], None, "{:.1f}"),
        ("texts embedded per second (build)", ours["texts_per_s"], None, "{:.0f}"),
        ("search() p50 latency (ms)", ours["search_p50"], txtai and txtai["p50"], "{:.1f}"),
        ("search() p99 latency (ms)", ours["search_p99"], txtai and txtai["p99"], "{:.1f}"),
        ("answer() p50 latency (ms)", ours["answer_p50"], None, "{:.1f}"),
        ("answer() p99 latency (ms)", ours["answer_p99"], None, "{:.1f}"),
    ]
    header = "| metric | qa |" + (" txtai hybrid search() | qa / txtai |" if txtai else "")
    print(header)
    print("|---|---|" + ("---|---|" if txtai else ""))
    for name, mine, theirs, fmt in rows:
        line = f"| {name} | {fmt.format(mine)} |"
        if txtai:
            if theirs is None:
                line += " - | - |"
            else:
                line += f" {fmt.format(theirs)} | {mine / theirs:.2f} |" if theirs else " 0 | - |"
        print(line)


SIDE_BY_SIDE = [  # (metric, key, format, how the shared store must compare)
    ("paragraph R@1", ("recall", 1), "{:.3f}", "equal within 0.005"),
    ("paragraph R@5", ("recall", 5), "{:.3f}", "equal within 0.005"),
    ("paragraph R@20", ("recall", 20), "{:.3f}", "equal within 0.005"),
    ("sentence hit@1 (answerable)", ("sentence_hit",), "{:.3f}", "equal within 0.005"),
    ("span exact match (answerable)", ("exact",), "{:.3f}", "equal within 0.005"),
    ("span token F1 (answerable)", ("f1",), "{:.3f}", "equal within 0.005"),
    ("SQuAD 2.0 F1, all questions, with abstention", ("squad2",), "{:.3f}", "equal within 0.005"),
    ("build time, model loaded (s)", ("build_s",), "{:.1f}", ""),
    ("search() p50 latency (ms)", ("search_p50",), "{:.1f}", ""),
    ("search() p99 latency (ms)", ("search_p99",), "{:.1f}", ""),
    ("answer() p50 latency (ms)", ("answer_p50",), "{:.1f}", "within 2x"),
    ("answer() p99 latency (ms)", ("answer_p99",), "{:.1f}", ""),
]


def value(results: dict, key: tuple):
    return results[key[0]][key[1]] if len(key) == 2 else results[key[0]]


def print_side_by_side(embedded: dict, shared: dict, where: str) -> None:
    """The embedded and the shared store's figures of one run, with how they compare."""
    print(f"\nshared store: {where}")
    print("| metric | embedded (files, FAISS) | shared (PostgreSQL + pgvector) | shared - embedded | required |")
    print("|---|---|---|---|---|")
    for name, key, fmt, required in SIDE_BY_SIDE:
        mine, theirs = value(embedded, key), value(shared, key)
        if required == "within 2x" or "latency" in name or "time" in name:
            compared = f"x{theirs / mine:.2f}" if mine else "-"
            met = "" if required != "within 2x" else (" (met)" if theirs <= 2 * mine else " (NOT met)")
        else:
            compared = f"{theirs - mine:+.3f}"
            met = "" if not required else (" (met)" if abs(theirs - mine) <= 0.005 else " (NOT met)")
        print(f"| {name} | {fmt.format(mine)} | {fmt.format(theirs)} | {compared} | {required}{met} |")


@contextmanager
def shared_store(store: str) -> Iterator[str]:
    """The URL of the shared store to measure: a throwaway server for 'postgresql', else `store`."""
    if "://" in store:
        yield store
        return
    from bench.pgserver import TemporaryPostgres

    with TemporaryPostgres(durable=True) as server:
        yield server.url


def changes(assignments: list[str]) -> dict[str, dict]:
    """{"stage": {"field": value}} of 'stage.field=value' strings (values in JSON, or else strings)."""
    found: dict[str, dict] = {}
    for assignment in assignments:
        name, _, value = assignment.partition("=")
        stage, _, field = name.partition(".")
        try:
            found.setdefault(stage, {})[field] = json.loads(value)
        except json.JSONDecodeError:
            found.setdefault(stage, {})[field] = value
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="SQuAD 2.0 JSON file")
    parser.add_argument("--txtai", action="store_true", help="also measure txtai hybrid (bench extra)")
    parser.add_argument("--builds", type=int, default=5, help="with --txtai: builds of each system, taking turns")
    parser.add_argument("--store", help="also measure the shared store: 'postgresql' starts a throwaway server, "
                                        "or give a postgresql:// URL")
    parser.add_argument("--set", action="append", default=[], metavar="STAGE.FIELD=VALUE",
                        help="change a setting for this run (a JSON value, e.g. embedding.quantised=false)")
    args = parser.parse_args()
    settings = DEFAULT.replace(**changes(args.set))
    with tempfile.TemporaryDirectory() as work:
        seeds, index_dir = Path(work, "seeds"), Path(work, "index")
        seeds.mkdir()
        questions = write_seeds(args.data, seeds)
        answerable = sum(bool(q.answers) for q in questions)
        print(f"{len(list(seeds.iterdir()))} paragraphs, {len(questions)} questions "
              f"({answerable} answerable, {len(questions) - answerable} with no answer)")
        ours = run_qa(seeds, index_dir, questions, settings)
        theirs = run_txtai(seeds, questions) if args.txtai else None
        if theirs is not None and args.builds > 1:
            compare_builds(seeds, settings, args.builds, ours, theirs)
        if args.store:
            from qa.store.postgres import masked

            with shared_store(args.store) as url:
                collection = settings.replace(store={"collection": "squad"})
                shared = run_qa(seeds, url, questions, collection)
                compare_latency(ours, shared, [(index_dir, settings), (url, collection)], questions)
                where = masked(url)
    print_table(ours, theirs)
    if args.store:
        print_side_by_side(ours, shared, where)


if __name__ == "__main__":
    main()
