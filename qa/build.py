"""Build: seeds folder -> a new index version, reusing what has not changed.

The store's scan says what changed (`qa.store.scan`); only new and changed
documents are chunked and embedded here, and the store writes them beside
what it keeps. A change to a setting the index depends on (see
`Settings.fingerprint`) rebuilds everything, and the stats say which.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from qa import chunking, embedding, language, rows
from qa.embedding import Encoder
from qa.errors import SeedsNotFound
from qa.language import Analyser
from qa.settings import DEFAULT, Settings
from qa.store import Store, open_store
from qa.store.manifest import fingerprint as index_fingerprint
from qa.store.scan import Prepared, Source, scan

log = logging.getLogger(__name__)


T = TypeVar("T")
UNITS = {"reading": "documents", "loading": "the models", "embedding": "documents", "parsing": "sentences",
         "writing": "the index"}


@dataclass(frozen=True)
class Progress:
    """Where a running build is: `done` of `total` items of its current `stage`."""

    stage: str           # a key of UNITS
    done: int = 0
    total: int = 0

    def describe(self) -> str:
        """What a person reads, e.g. 'reading 120 of 480 documents' or 'writing the index'."""
        unit = UNITS[self.stage]
        return f"{self.stage} {self.done:,} of {self.total:,} {unit}" if self.total else f"{self.stage} {unit}"


Report = Callable[[Progress], None]


@dataclass
class BuildStats:
    """What one build did: counts, timings and the version it left live."""

    documents: int = 0
    chunks: int = 0
    sentences: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)
    full_rebuild: str = ""          # why everything was rebuilt, if it was
    embedded_texts: int = 0
    embed_seconds: float = 0.0
    parse_seconds: float = 0.0
    seconds: float = 0.0
    version: str = ""

    def summary(self) -> str:
        """One line such as '3 added, 1 changed, 2 removed, 40 unchanged; 0.8 s'."""
        line = (f"{self.added} added, {self.changed} changed, {self.removed} removed, "
                f"{self.unchanged} unchanged; {self.seconds:.1f} s")
        if self.skipped:
            line += f"; {len(self.skipped)} skipped"
        if self.full_rebuild:
            line = f"full rebuild ({self.full_rebuild}): " + line
        return line


def build_index(seeds_dir: str | Path = "seeds", index_dir: str | Path = "index",
                progress: bool = True, wait: bool = True, settings: Settings = DEFAULT,
                encoder: Encoder | None = None, store: Store | str | None = None,
                analyser: Analyser | None = None, on_progress: Report | None = None) -> BuildStats:
    """Build or update the index of `seeds_dir` in `index_dir` (or `store`: a `Store`, or a
    postgresql:// URL, as `index_dir` may also be); returns what it did.

    `encoder` and `analyser` default to the packaged models; `on_progress` is told where
    the build is as it goes (a `Progress`). Raises `SeedsNotFound` when the
    seeds folder is missing and `BuildLocked` when `wait` is false and another
    build is running.
    """
    started = time.perf_counter()
    seeds_dir = Path(seeds_dir)
    if not seeds_dir.is_dir():
        raise SeedsNotFound(f"seeds folder not found: {seeds_dir}")
    store = open_store(store if store is not None else index_dir, settings)
    stats = BuildStats()
    report = on_progress or (lambda _: None)
    with store.lock(wait):
        wanted = index_fingerprint(settings, encoder, analyser)  # the packaged models' names when None
        previous, stats.full_rebuild = store.previous(wanted)
        plan = scan(seeds_dir, previous, stats.full_rebuild, settings.sources,
                    lambda done, total: report(Progress("reading", done, total)))
        stats.added, stats.changed, stats.removed = len(plan.added), len(plan.changed), len(plan.removed)
        stats.unchanged, stats.skipped = plan.unchanged, plan.skipped
        if plan.changes_nothing and previous:
            manifest = previous
        else:
            prepared = prepare(plan.new, encoder, analyser, settings, stats, progress, report)
            last_build = {"added": stats.added, "changed": stats.changed, "removed": stats.removed,
                          "unchanged": stats.unchanged}
            manifest = store.write(plan, prepared, wanted, last_build)
            log.info("switched to index version %s", manifest.version)
        store.cleanup()
    stats.version = manifest.version
    stats.documents, stats.chunks, stats.sentences = len(manifest.documents), manifest.chunks, manifest.sentences
    stats.seconds = time.perf_counter() - started
    return stats


def prepare(new: list[Source], encoder: Encoder | None, analyser: Analyser | None, settings: Settings,
            stats: BuildStats, progress: bool, report: Report) -> Iterator[Prepared]:
    """Chunk the new or changed documents and, a batch of about `batch_sentences` sentences at a
    time, embed their chunks and sentences in one run and parse their sentences in another. The
    models are loaded only when there is something to read: a build that only removes
    documents never loads them. `report` hears how many documents are done."""
    batch: list[tuple[Source, list[chunking.Chunk], list[chunking.Sentence]]] = []
    done = 0
    for number, source in enumerate(new):
        batch.append((source, *chunking.chunk_document(source.document, settings.chunking)))
        if number + 1 == len(new) or sum(len(b[2]) for b in batch) >= settings.index.batch_sentences:
            if encoder is None or analyser is None:
                report(Progress("loading"))
                models = load_models(settings, sum(len(b[2]) for b in batch))
                encoder, analyser = encoder or models[0], analyser or models[1]
            report(Progress("embedding", done, len(new)))
            yield from prepare_batch(batch, encoder, analyser, settings, stats, progress, report)
            done += len(batch)
            batch = []
    report(Progress("writing"))


def load_models(settings: Settings = DEFAULT, sentences: int = 0) -> tuple[Encoder, Analyser]:
    """The packaged models for a build with `sentences` to parse. Given two cores or more, and
    `language.process_from` sentences or a parsing process up already, spaCy parses in a process
    of its own (started first, so it loads while the encoder does) and the encoder embeds on the
    other cores; else both run here, the encoder on every core."""
    cores = os.cpu_count() or 1
    wanted = settings.language.process_from
    apart = cores > 1 and (language.parsing_process_running() or 0 < wanted <= sentences)
    analyser: Analyser = (language.parsing_process(settings.language.batch_size) if apart
                          else language.load_analyser(settings.language.batch_size))
    return embedding.load_encoder(settings.embedding, threads=cores - 1 if apart else 0), analyser


def prepare_batch(batch: list[tuple[Source, list[chunking.Chunk], list[chunking.Sentence]]], encoder: Encoder,
                  analyser: Analyser, settings: Settings, stats: BuildStats, progress: bool,
                  report: Report) -> Iterator[Prepared]:
    """Embed and parse one batch of chunked documents."""
    by_model = settings.embedding.chunk_vectors == "model"
    texts = [text for _, chunks, sentences in batch
             for text in ([c.text for c in chunks] if by_model else []) + [s.text for s in sentences]]
    log.info("embedding %d texts of %d new or changed documents", len(texts), len(batch))
    to_parse = [s for _, _, sentences in batch for s in sentences]
    with ThreadPoolExecutor(1) as parser:  # parsing goes on beside embedding (see language.ParsingProcess)
        parsing = parser.submit(timed, analyser.analyse, [s.text for s in to_parse], [s.start for s in to_parse])
        started = time.perf_counter()
        vectors = embedding.embed(encoder, texts, settings.embedding.batch_size,
                                  progress and len(texts) >= settings.embedding.progress_min_texts)
        stats.embed_seconds += time.perf_counter() - started
        stats.embedded_texts += len(texts)
        report(Progress("parsing"))
        tokens, seconds = parsing.result()
        stats.parse_seconds += seconds
    at, parsed = 0, 0
    for source, chunks, sentences in batch:
        chunk_rows = rows.chunk_rows(0, ((c.start, c.end) for c in chunks))
        sentence_rows = rows.sentence_rows(0, ((s.start, s.end, s.heading) for s in sentences))
        middle = at + len(chunks) if by_model else at
        end = middle + len(sentences)
        sentence_vectors = vectors[middle:end]
        chunk_vectors = vectors[at:middle] if by_model else mean_vectors(rows.within(chunk_rows, sentence_rows),
                                                                          sentence_vectors)
        yield Prepared(
            source, chunk_rows, sentence_rows,
            np.concatenate([np.zeros(0, dtype=rows.TOKEN), *tokens[parsed:parsed + len(sentences)]]),
            chunk_vectors, sentence_vectors)
        at, parsed = end, parsed + len(sentences)


def timed(work: Callable[..., T], *args: Any) -> tuple[T, float]:
    """What `work(*args)` returns, and the seconds it took."""
    started = time.perf_counter()
    return work(*args), time.perf_counter() - started


def mean_vectors(ranges: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Unit rows: for each RANGE, the normalised mean of its rows of `vectors` (a chunk's vector
    from its sentences'; on the SQuAD slice this keeps R@1, R@5, sentence hit@1 and span F1 within
    0.005 of the model reading each chunk, bench/build.py, at about half the texts' tokens)."""
    running = np.concatenate([np.zeros((1, vectors.shape[1])), np.cumsum(vectors, axis=0, dtype=np.float64)])
    sums = running[ranges["stop"]] - running[ranges["first"]]
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.where(norms > 0, norms, 1.0)).astype(np.float32)
