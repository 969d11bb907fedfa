"""Watch: act (rebuild the index) whenever the seeds folder changes, debounced."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import watchfiles

from qa.settings import DEFAULT, Settings
from qa.sources import CONVERTERS

log = logging.getLogger(__name__)


class SeedFilter(watchfiles.DefaultFilter):
    """Changes to source files and folders; editor swap files and the like are ignored."""

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        suffix = Path(path).suffix.lower()
        return super().__call__(change, path) and (suffix in CONVERTERS or not suffix)


def watch(seeds_dir: str | Path, on_change: Callable[[], None], stop: threading.Event | None = None,
          settings: Settings = DEFAULT) -> None:
    """Call `on_change` after each burst of changes under `seeds_dir` until `stop` is set.

    An `on_change` that fails is logged, and watching goes on (a failed rebuild
    leaves the previous index live).
    """
    for changes in watchfiles.watch(seeds_dir, watch_filter=SeedFilter(), debounce=settings.serve.debounce_ms,
                                    stop_event=stop, raise_interrupt=False):
        log.info("%d change(s) in %s", len(changes), seeds_dir)
        try:
            on_change()
        except Exception:  # keep watching: the previous index stays live
            log.exception("rebuild failed; the previous index stays live")
