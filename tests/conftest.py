"""Shared fixtures: a real index of the project's seeds, built once per test run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.pgserver import TemporaryPostgres
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


@pytest.fixture
def index_copy(index_dir, tmp_path) -> Path:
    """A private copy of the session's built index, for a test that changes or damages it."""
    copy = tmp_path / "index"
    shutil.copytree(index_dir, copy)
    return copy


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL + pgvector server on a free loopback port, for the whole run."""
    with TemporaryPostgres() as server:
        yield server


@pytest.fixture
def pg_url(postgres) -> str:
    """The URL of a new, empty database on the session's server."""
    return postgres.new_database()
