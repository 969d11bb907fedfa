"""Shared fixtures: a real index of the project's seeds, built once per test run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qa import Retriever, build_index

PROJECT = Path(__file__).resolve().parents[1]
SEEDS = PROJECT / "seeds"


@pytest.fixture(scope="session")
def seeds_dir(tmp_path_factory) -> Path:
    """A copy of the project's seeds that tests may read (never the real folder)."""
    folder = tmp_path_factory.mktemp("seeds")
    for path in SEEDS.iterdir():
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="session")
def index_dir(seeds_dir, tmp_path_factory) -> Path:
    """A real FAISS + BM25 index of the seeds."""
    folder = tmp_path_factory.mktemp("index")
    build_index(seeds_dir, folder, progress=False)
    return folder


@pytest.fixture(scope="session")
def retriever(index_dir) -> Retriever:
    return Retriever.open(index_dir)
