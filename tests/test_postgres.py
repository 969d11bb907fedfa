"""The shared store on a real PostgreSQL + pgvector server (bench/pgserver.py, from the test extra)."""

from __future__ import annotations

import psycopg
import pytest

pytestmark = pytest.mark.postgres


def test_the_test_server_is_postgresql_15_or_later_with_pgvector_0_7_or_later(pg_url):
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION vector")
        server = connection.info.server_version
        (vector,) = connection.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    assert server >= 150000
    assert tuple(int(part) for part in vector.split(".")) >= (0, 7)
