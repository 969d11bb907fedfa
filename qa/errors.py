"""One exception tree for qa, each kind with its HTTP status and CLI exit code.

The web app maps `QAError` to a response in one handler and the CLI to an
exit code in one place, by these attributes.
"""

from __future__ import annotations


class QAError(Exception):
    """Anything qa reports to a person; `status` for HTTP, `exit_code` for the shell."""

    status = 500
    exit_code = 1


class QuestionError(QAError, ValueError):
    """A question that cannot be asked: empty, too long, or asking for no passages."""

    status = 422
    exit_code = 2


class IndexUnavailable(QAError):
    """The index is missing, corrupt or was built by an incompatible version."""

    status = 503


class OutOfMemory(IndexUnavailable):
    """The index does not fit in the memory this process can have."""


class BuildLocked(QAError):
    """Another build holds the index's lock."""

    status = 409


class SeedsNotFound(QAError, FileNotFoundError):
    """The seeds folder does not exist."""

    status = 404


class SourceError(QAError):
    """A seed file that cannot be used (unreadable, undecodable, empty or too big)."""

    status = 422


class EmptySource(SourceError):
    """A seed file that holds no text: emptied by its owner, its document leaves the index."""
