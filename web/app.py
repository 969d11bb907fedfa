"""The FastAPI app and `serve`: build or update the index, load it once, serve it."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from qa import IndexUnavailable, build_index
from web import api, pages
from web.state import open_retriever

STATIC = Path(__file__).parent / "static"


def create_app(index_dir: str | Path = "index", seeds_dir: str | Path | None = "seeds") -> FastAPI:
    """The web app over the index in `index_dir`; the Retriever opens once, on first use."""
    app = FastAPI(title="qa", summary="Extractive answers from a folder of sources, with their offsets.",
                  docs_url=None, redoc_url=None)
    app.state.index_dir = Path(index_dir)
    app.state.seeds_dir = Path(seeds_dir) if seeds_dir else None
    app.state.retriever = None
    app.state.open_lock = threading.Lock()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)

    @app.exception_handler(IndexUnavailable)
    def unavailable(request: Request, error: IndexUnavailable):
        return JSONResponse({"detail": str(error)}, status_code=503)

    return app


def serve(index_dir: str | Path = "index", seeds_dir: str | Path = "seeds",
          host: str = "127.0.0.1", port: int = 8000) -> None:
    """Build or update the index of `seeds_dir` (with progress), load it, then run uvicorn."""
    import uvicorn

    print(f"qa serve: indexing {seeds_dir}/ into {index_dir}/", flush=True)
    stats = build_index(seeds_dir, index_dir, progress=True)
    print(f"qa serve: {stats.summary()}: {stats.documents} documents, {stats.chunks} chunks "
          f"({stats.version})", flush=True)
    app = create_app(index_dir, seeds_dir)
    open_retriever(app)
    print(f"qa serve: answering on http://{host}:{port}/", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
