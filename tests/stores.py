"""Both stores for tests that run against each: an index folder, or a new PostgreSQL database."""

from __future__ import annotations

import pytest

STORES = ["files", pytest.param("postgres", marks=pytest.mark.postgres)]


def location(request, tmp_path_factory) -> str:
    """Where a test's index goes for the store `request.param` names: a folder or a database URL."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres").new_database()
    return str(tmp_path_factory.mktemp("index"))
