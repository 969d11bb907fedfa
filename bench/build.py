"""What a build must compute, and how fast: the levers of issue 10 measured on the SQuAD slice.

    python -m bench.build [--data ../shared/bench/squad-dev-subset.json] [--skip-quality]

1. Which texts the model must read. The index of the slice (default model)
   is queried with its sentences' cosines taken from: their vectors as the
   store keeps them (4 bits a dimension with a scale per row: what qa does);
   the same vectors in float32; vectors pooled from the token states of the
   chunk pass (no sentence pass: "late chunking"); their chunk's vector. And
   with chunk vectors taken as the mean of their sentences' (no chunk pass). Each row:
   paragraph R@1 and R@5 (search), sentence hit@1 and span token F1 (answer,
   every pick kept, as bench.squad counts them).
2. The model's precision: float32 against int8 (MatMul weights per channel,
   `embedding.quantised`): CPU seconds for the slice's chunks and sentences,
   the cosine of each text's two vectors (mean, min) and the four figures
   above for an index built and queried with each.
3. Batches: padding (padded tokens / real tokens) of batches sorted by
   characters, by tokens, or not at all; texts per second and CPU per batch
   size, sorted by tokens.
4. What a build spends: chunking, embedding, parsing, writing.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.metrics import best_f1
from bench.squad import DEFAULT_DATA, Question, recall, unique_docs, write_seeds
from qa import Retriever, build_index, chunking, embedding, language
from qa.settings import DEFAULT, Settings
from qa.store.files import FileReader, top

BATCH_SIZES = (8, 16, 32, 64, 128)


def quality(retriever: Retriever, picker: Retriever, questions: list[Question]) -> dict[str, float]:
    answerable = [q for q in questions if q.answers]
    rankings = [unique_docs([p.doc_id for p in retriever.search(q.text, k=60)]) for q in answerable]
    found = recall(rankings, answerable)
    hits = f1 = 0.0
    for q in answerable:
        answer = picker.answer(q.text)
        hits += answer.doc_id == q.doc_id and any(gold in answer.sentence for gold in q.answers)
        f1 += best_f1(answer.text, q.answers)
    return {"R@1": found[1], "R@5": found[5], "hit@1": hits / len(answerable), "F1": f1 / len(answerable)}


def texts_of(reader: FileReader) -> tuple[list[str], list[str], np.ndarray]:
    """The chunk and sentence texts of a one-segment index, and each chunk's sentence RANGE."""
    (live,) = reader.segments
    segment = live.segment

    def text(row) -> str:
        return reader.document_at(int(row["doc"])).text[int(row["start"]):int(row["end"])]

    return ([text(row) for row in segment.chunks], [text(row) for row in segment.sentences],
            np.array(segment.chunk_sentences))


def pooled(encoder: embedding.OnnxEncoder, reader: FileReader) -> np.ndarray:
    """Each sentence's mean token state in the pass over its chunk (averaged over the chunks that
    hold it), normalised: sentence vectors at no cost beyond the chunks'."""
    (live,) = reader.segments
    chunks, sentences = live.segment.chunks, live.segment.sentences
    found = np.zeros((len(sentences), encoder.dimension), dtype=np.float32)
    for chunk in chunks:
        text = reader.document_at(int(chunk["doc"])).text[int(chunk["start"]):int(chunk["end"])]
        piece = encoder.tokenizer.encode(text)
        states = encoder.session.run(None, {"input_ids": np.array([piece.ids]),
                                            "attention_mask": np.array([piece.attention_mask])})[0][0]
        offsets = np.array(piece.offsets) + int(chunk["start"])
        ordinary = ~np.array(piece.special_tokens_mask, dtype=bool)
        inside = np.flatnonzero((sentences["doc"] == chunk["doc"]) & (sentences["start"] >= chunk["start"])
                                & (sentences["end"] <= chunk["end"]))
        for row in inside:
            tokens = ordinary & (offsets[:, 0] >= sentences["start"][row]) & (offsets[:, 1] <= sentences["end"][row])
            if tokens.any():
                mean = states[tokens].mean(axis=0)
                found[row] += mean / np.linalg.norm(mean)
    return found / np.maximum(np.linalg.norm(found, axis=1, keepdims=True), 1e-12)


def with_sentence_vectors(reader: FileReader, vectors: np.ndarray) -> None:
    """Make `reader` give sentences the cosines of `vectors` (rows of its one segment)."""
    original = reader.sentences

    def sentences(chunk_ids, query):
        found = original(chunk_ids, query)
        return dataclasses.replace(found, cosine=(vectors[found.ids] @ query.vector).astype(np.float32))

    reader.sentences = sentences  # type: ignore[method-assign]


def with_chunk_vectors(reader: FileReader, vectors: np.ndarray) -> None:
    """Make `reader` find and score chunks by `vectors` (exact search)."""
    original = reader.candidates

    def candidates(query, n, scope=None):
        found = original(query, n, scope)
        postings, idf = reader.postings(tuple(dict.fromkeys(query.tokens)))
        cosine = vectors @ query.vector
        ids = np.union1d(top(cosine, n), reader.lexical_top(postings, idf, n, None))
        (live,) = reader.segments
        return dataclasses.replace(found, ids=ids, spans=np.array(live.segment.chunks[ids]), cosine=cosine[ids],
                                   lexical=reader.lexical_scores(postings, idf, ids))

    reader.candidates = candidates  # type: ignore[method-assign]


def what_to_embed(index_dir: Path, questions: list[Question], settings: Settings) -> list[tuple[str, dict]]:
    every_pick = settings.replace(answering={"min_confidence": 0.0})
    encoder = embedding.load_encoder(settings.embedding, threads=0)
    rows = []
    variants = ("their vectors, stored in 4 bits (qa)", "their vectors, float32", "pooled from the chunk pass",
                "their chunk's vector", "(chunks: read by the model)")
    for variant in variants:
        retriever, picker = Retriever.open(index_dir, settings), Retriever.open(index_dir, every_pick)
        reader = retriever._opened.reader
        assert isinstance(reader, FileReader)
        chunk_texts, sentence_texts, chunk_sentences = texts_of(reader)
        sentence_vectors = embedding.embed(encoder, sentence_texts)
        for opened in (retriever, picker):
            target = opened._opened.reader
            assert isinstance(target, FileReader)
            if variant == variants[1]:
                with_sentence_vectors(target, sentence_vectors)
            elif variant == variants[2]:
                with_sentence_vectors(target, pooled(encoder, target))
            elif variant == variants[3]:
                first_chunk = np.zeros(len(sentence_texts), dtype=np.int64)
                for chunk, (first, stop) in reversed(list(enumerate(chunk_sentences.tolist()))):
                    first_chunk[first:stop] = chunk
                with_sentence_vectors(target, embedding.embed(encoder, chunk_texts)[first_chunk])
            elif variant == variants[4]:
                with_chunk_vectors(target, embedding.embed(encoder, chunk_texts))
        rows.append((variant, quality(retriever, picker, questions)))
    return rows


def precision(seeds: Path, work: Path, questions: list[Question], texts: list[str]) -> list[dict]:
    """float32 and int8: CPU, agreement, and the figures of an index built and queried with each."""
    found: list[dict] = []
    reference: tuple[np.ndarray, np.ndarray] | None = None
    for quantised in (False, True):
        settings = DEFAULT.replace(embedding={"quantised": quantised})
        encoder = embedding.load_encoder(settings.embedding, threads=0)
        started = time.process_time()
        vectors = embedding.embed(encoder, texts, settings.embedding.batch_size)
        cpu = time.process_time() - started
        asked = embedding.embed(encoder, [q.text for q in questions])
        if reference is None:
            reference = (vectors, asked)
        agreement = np.concatenate([(vectors * reference[0]).sum(axis=1), (asked * reference[1]).sum(axis=1)])
        index_dir = work / f"index-{quantised}"
        build_index(seeds, index_dir, progress=False, settings=settings)
        figures = quality(Retriever.open(index_dir, settings),
                          Retriever.open(index_dir, settings.replace(answering={"min_confidence": 0.0})), questions)
        found.append({"model": "int8" if quantised else "float32", "cpu": cpu, "mean": float(agreement.mean()),
                      "min": float(agreement.min()), **figures})
    return found


def padding(encoder: embedding.OnnxEncoder, texts: list[str], batch_size: int) -> dict[str, float]:
    """Padded tokens / real tokens of batches sorted three ways."""
    lengths = np.array([len(piece) for piece in encoder.tokenize(texts)])
    orders = {"unsorted": np.arange(len(texts)),
              "sorted by characters": np.argsort([-len(t) for t in texts], kind="stable"),
              "sorted by tokens": np.argsort(-lengths, kind="stable")}
    return {name: sum(lengths[order[i:i + batch_size]].max() * len(order[i:i + batch_size])
                      for i in range(0, len(texts), batch_size)) / lengths.sum()
            for name, order in orders.items()}


def batches(encoder: embedding.OnnxEncoder, texts: list[str]) -> list[dict]:
    found = []
    for batch_size in BATCH_SIZES:
        seconds, cpu = [], []
        for _ in range(2):
            started, started_cpu = time.perf_counter(), time.process_time()
            embedding.embed(encoder, texts, batch_size)
            seconds.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        found.append({"batch": batch_size, "texts_per_s": len(texts) / min(seconds), "cpu": min(cpu)})
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="SQuAD 2.0 JSON file")
    parser.add_argument("--skip-quality", action="store_true", help="only the speed tables (3 and 4)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        seeds = work / "seeds"
        seeds.mkdir()
        questions = write_seeds(args.data, seeds)
        encoder = embedding.load_encoder(DEFAULT.embedding, threads=0)
        language.load_analyser()
        started = time.perf_counter()
        split = [chunking.chunk_document(build_source(path), DEFAULT.chunking) for path in sorted(seeds.iterdir())]
        chunking_s = time.perf_counter() - started
        texts = [s.text for _, sentences in split for s in sentences]  # what the model reads (not the chunks)
        stats = build_index(seeds, work / "index", progress=False)
        print(f"{len(split)} paragraphs: {sum(len(c) for c, _ in split)} chunks, "
              f"{sum(len(s) for _, s in split)} sentences embedded ({len(set(texts))} distinct texts), "
              f"{len(questions)} questions\n")
        if not args.skip_quality:
            print("1. Where sentence (and chunk) vectors come from\n")
            print("| sentence cosines from | R@1 | R@5 | sentence hit@1 | span F1 |\n|---|---|---|---|---|")
            for variant, figures in what_to_embed(work / "index", questions, DEFAULT):
                print(f"| {variant} | {figures['R@1']:.4f} | {figures['R@5']:.4f} | {figures['hit@1']:.4f} | "
                      f"{figures['F1']:.4f} |")
            print("\n2. The model's precision\n")
            print("| model | CPU for the slice (s) | cosine with float32, mean / min | R@1 | R@5 | sentence hit@1 "
                  "| span F1 |\n|---|---|---|---|---|---|---|")
            for row in precision(seeds, work, questions, texts):
                print(f"| {row['model']} | {row['cpu']:.1f} | {row['mean']:.4f} / {row['min']:.4f} | "
                      f"{row['R@1']:.4f} | {row['R@5']:.4f} | {row['hit@1']:.4f} | {row['F1']:.4f} |")
        print(f"\n3. Batches ({'int8' if DEFAULT.embedding.quantised else 'float32'} model, "
              f"{DEFAULT.embedding.batch_size} texts a batch for the padding)\n")
        print("| order | padded tokens / tokens |\n|---|---|")
        for name, ratio in padding(encoder, texts, DEFAULT.embedding.batch_size).items():
            print(f"| {name} | {ratio:.2f} |")
        print("\n| batch size (sorted by tokens) | texts per second | CPU (s) |\n|---|---|---|")
        for row in batches(encoder, texts):
            print(f"| {row['batch']} | {row['texts_per_s']:.0f} | {row['cpu']:.1f} |")
        print(f"\n4. One build of the slice: {stats.seconds:.1f} s, of which chunking {chunking_s:.1f} s, "
              f"embedding {stats.embed_seconds:.1f} s, parsing {stats.parse_seconds:.1f} s")


def build_source(path: Path):
    from qa.sources import Document

    text = path.read_text(encoding="utf-8")
    return Document(path.name, path.stem, text, str(path), "")


if __name__ == "__main__":
    main()
