"""Settings: every knob of every stage, declared once with its default and help.

Each stage has a frozen dataclass; `Settings` holds one of each. A field made
with `knob(..., index=True)` changes what a build writes, so it is part of the
index fingerprint: when it differs from the live index's, the next build
rebuilds everything and says which field changed. `Settings.describe()` is
the table of (name, default, help), datasette-style.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any


def knob(default: Any, help: str, index: bool = False) -> Any:
    """A settings field: its default, a one-line help, and whether the index depends on it."""
    return field(default=default, metadata={"help": help, "index": index})


@dataclass(frozen=True)
class SourceSettings:
    cleaning_version: int = knob(4, "version of the clean-text rules; bump when they change", index=True)
    max_file_bytes: int = knob(20 * 1024 * 1024, "larger seed files (or Office and EPUB files that unpack "
                                                 "to more) are skipped with a warning")
    ocr: bool = knob(False, "run ocrmypdf --skip-text on PDFs with pages without text (qa index --ocr)")
    ocr_cache: str = knob(str(Path(os.environ.get("QA_CACHE_DIR", Path.home() / ".cache" / "qa")) / "ocr"),
                          "folder of OCR'd copies of PDFs, by sha256; a PDF with a copy here is read from it")


@dataclass(frozen=True)
class ChunkingSettings:
    splitter: str = knob(f"pysbd-{version('pysbd')}", "sentence splitter and its version", index=True)
    chunk_max_words: int = knob(120, "words per chunk at most (the model reads 256 word pieces)", index=True)
    chunk_max_sentences: int = knob(6, "sentences per chunk at most", index=True)
    chunk_overlap_sentences: int = knob(1, "sentences a chunk shares with the one before", index=True)
    max_line_chars: int = knob(4000, "longer lines are cut at sentence ends before the splitter reads them "
                                     "(pysbd's time grows with the square of a line's length)", index=True)
    sentence_max_words: int = knob(120, "longer sentences are cut at word boundaries into pieces this long",
                                   index=True)
    heading_max_words: int = knob(14, "a lone line this short without end punctuation is a heading",
                                  index=True)
    datelines: bool = knob(True, "a short line that starts with a full date is a dateline, which answers "
                                 "when a piece was published, not a heading", index=True)


@dataclass(frozen=True)
class LexicalSettings:
    tokenizer: str = knob(f"bm25s-{version('bm25s')}", "tokenizer of BM25 terms (lower case, stop words, stems)",
                          index=True)
    stopwords: str = knob("en", "stop-word list of the tokenizer", index=True)
    stemmer: str = knob("english", "Snowball stemmer language", index=True)
    k1: float = knob(1.2, "BM25 term-frequency saturation (Lucene's default)")
    b: float = knob(0.75, "BM25 length normalisation (Lucene's default)")


@dataclass(frozen=True)
class EmbeddingSettings:
    model: str = knob("sentence-transformers/all-MiniLM-L6-v2", "embedding model: the packaged one, or the folder "
                                                                "of a sentence-transformers model", index=True)
    dimension: int = knob(384, "length of the model's vectors", index=True)
    quantised: bool = knob(True, "run the model with int8 MatMul weights (about 0.7x the CPU; bench/build.py)",
                           index=True)
    chunk_vectors: str = knob("mean", "'mean': a chunk's vector is the mean of its sentences' (the model reads "
                                      "each sentence once; bench/build.py); 'model': the model reads the chunk "
                                      "too", index=True)
    batch_size: int = knob(32, "texts per model call at build time, sorted by token count (bench/build.py)")
    query_threads: int = knob(1, "ONNX Runtime threads that embed a question (a server answers several at "
                                 "once); builds use one per core")
    progress_min_texts: int = knob(256, "show a progress bar for builds embedding this many texts")
    onnx_opset: int = knob(17, "ONNX opset of the cached model export")


@dataclass(frozen=True)
class LanguageSettings:
    model: str = knob("spacy/en_core_web_sm-3.8.0", "named entities and parse of every sentence", index=True)
    batch_size: int = knob(256, "sentences per spaCy batch at build time")
    process_from: int = knob(500, "a build with this many sentences to parse (or while one runs already) "
                                  "parses them in a process of its own beside embedding, given 2 cores or "
                                  "more; about what the process takes to start (3 s) parses in this one")


@dataclass(frozen=True)
class IndexSettings:
    format_version: int = knob(4, "layout of the files in index/", index=True)
    ivf_min_chunks: int = knob(20_000, "a segment with this many chunks gets an IVF index (scalar-quantised, "
                                       "bench/vectors.py), below it exact search")
    ivf_lists_per_root: float = knob(4.0, "IVF cells per square root of the segment's chunks")
    ivf_probes: int = knob(128, "IVF cells searched per question (recall@10 0.98 at 1M rows, bench/vectors.py)")
    search_threads: int = knob(1, "FAISS (OpenMP) threads per search: a question is one query, and under load "
                                  "more threads wait on each other")
    batch_sentences: int = knob(50_000, "a build prepares and writes documents in batches of about this many "
                                        "sentences, so its memory does not grow with the corpus")
    max_segments: int = knob(8, "a version with more segments is merged into one")
    load_attempts: int = knob(3, "tries to load a version that a build keeps switching")


@dataclass(frozen=True)
class StoreSettings:
    collection: str = knob("main", "collection in a shared store: each is one PostgreSQL schema, qa_<name>")
    pool_size: int = knob(4, "connections to a shared store a process keeps for queries")
    connect_seconds: float = knob(5.0, "how long to wait for a shared store before saying it is unavailable")
    hnsw_min_chunks: int = knob(50_000, "a shared store with this many chunks searches pgvector's HNSW index, "
                                        "below it exact search")
    hnsw_neighbours: int = knob(32, "HNSW graph degree (M) of a shared store's chunk index")
    poll_seconds: float = knob(1.0, "servers look for a new version this often (sooner when notified)")
    keep_seconds: int = knob(60, "a superseded version of a shared store stays readable this long, for "
                                 "requests in flight and servers still on it")
    document_cache: int = knob(1024, "documents of a shared store a process keeps in memory")


@dataclass(frozen=True)
class RankingSettings:
    candidates: int = knob(100, "chunks taken from each of the dense and the lexical top lists")
    sentence_dense: float = knob(0.6, "share of cosine (rest BM25) in a sentence's score")
    ranking_dense: float = knob(0.8, "the same share in the sentence score that ranks chunks (their best "
                                     "sentence's)")
    chunk_dense: float = knob(0.3, "share of cosine (rest BM25) in a chunk's own score")
    best_sentence: float = knob(0.65, "share of a chunk's score that comes from its best sentence")
    section_weight: float = knob(0.3, "how much a sentence's section heading adds to its score")


@dataclass(frozen=True)
class AnsweringSettings:
    answer_chunks: int = knob(8, "answers are picked from the sentences of this many top chunks")
    answer_sentences: int = knob(6, "of which this many, best first, have their phrases weighed")
    chunk_weight: float = knob(0.5, "how much a sentence's chunk score adds to its own in that order")
    min_confidence: float = knob(0.3, "answer only when the chance the answer is right reaches this "
                                      "(out of fold, SQuAD 2.0 F1 with abstention is flat from 0.2 to 0.3, "
                                      "bench/learn.py; the higher end gives fewer wrong answers)")
    likely_confidence: float = knob(0.5, "from this chance on an answer is shown as likely, below as uncertain")
    conflict_margin: float = knob(2.5, "another document's answer within this score of the best is shown")
    max_question_chars: int = knob(2000, "longer questions are refused")
    max_word_chars: int = knob(200, "questions with a longer word, a run without a space, are refused: spaCy's "
                                    "tokenizer takes time quadratic in one split at many marks")
    at_once: int = knob(0, "questions a Retriever works on at once, the others waiting their turn (0: as many "
                           "as cores); 50 clients on 2 cores got p50 30 ms with 2 at once, 330 ms with all "
                           "at once (bench/load.py)")
    max_history: int = knob(10, "earlier questions a follow-up can refer to")
    max_carried: int = knob(8, "topic words a follow-up borrows at most")
    carry_min_rarity: float = knob(0.6, "a follow-up borrows only words this rare in the sources or rarer "
                                        "(BM25 IDF as a share of the highest)")


@dataclass(frozen=True)
class ServeSettings:
    debounce_ms: int = knob(400, "changes to the seeds within this window make one rebuild")
    keep_alive_seconds: int = knob(30, "HTTP keep-alive of the server")
    rate_per_minute: int = knob(120, "questions a client (other than loopback) may ask per minute; more get 429 "
                                     "(0: no limit)")


@dataclass(frozen=True)
class Settings:
    """Every knob of qa, one frozen dataclass per stage."""

    sources: SourceSettings = field(default_factory=SourceSettings)
    chunking: ChunkingSettings = field(default_factory=ChunkingSettings)
    lexical: LexicalSettings = field(default_factory=LexicalSettings)
    embedding: EmbeddingSettings = field(default_factory=EmbeddingSettings)
    language: LanguageSettings = field(default_factory=LanguageSettings)
    index: IndexSettings = field(default_factory=IndexSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    ranking: RankingSettings = field(default_factory=RankingSettings)
    answering: AnsweringSettings = field(default_factory=AnsweringSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)

    def fingerprint(self) -> dict[str, Any]:
        """'stage.field' -> value for every field the index depends on."""
        return {name: value for name, value, _, index in self.describe() if index}

    def reader_fingerprint(self) -> dict[str, Any]:
        """The part of the fingerprint a reader must match: the layout, the model and the
        tokenizer (a question is embedded and tokenized as the stored texts were), but not how a
        build derived the chunk vectors."""
        return {name: value for name, value in self.fingerprint().items()
                if name.split(".")[0] in ("index", "embedding", "lexical") and name != "embedding.chunk_vectors"}

    def describe(self) -> list[tuple[str, Any, str, bool]]:
        """(stage.field, value, help, part of the fingerprint) for every knob."""
        rows = []
        for stage in dataclasses.fields(self):
            section = getattr(self, stage.name)
            for knob_field in dataclasses.fields(section):
                rows.append((f"{stage.name}.{knob_field.name}", getattr(section, knob_field.name),
                             knob_field.metadata["help"], knob_field.metadata["index"]))
        return rows

    def replace(self, **changes: dict[str, Any]) -> Settings:
        """A copy with some fields of some stages changed: `replace(chunking={"chunk_max_words": 60})`."""
        stages = {stage: dataclasses.replace(getattr(self, stage), **fields)
                  for stage, fields in changes.items()}
        return dataclasses.replace(self, **stages)


DEFAULT = Settings()
