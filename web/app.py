"""The FastAPI app and `serve`: build or update the index, load it once, serve it."""

from __future__ import annotations

import threading
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from qa import BuildStats, QAError, Settings, build_index
from qa.settings import DEFAULT
from qa.watch import watch as watch_seeds
from web import api, pages
from web.conversation import message
from web.state import open_retriever

STATIC = Path(__file__).parent / "static"
JSON_PATHS = ("/api/", "/healthz")


def create_app(index_dir: str | Path = "index", seeds_dir: str | Path | None = "seeds",
               watch: bool = False, settings: Settings = DEFAULT) -> FastAPI:
    """The web app over the index in `index_dir`; the Retriever opens once, on first use.

    With `watch`, while the app runs it rebuilds the index when `seeds_dir` changes and
    swaps the new version in; requests in flight finish on the old one.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        stop = threading.Event()
        if watch and seeds_dir:
            threading.Thread(target=watch_seeds, args=(seeds_dir, index_dir),
                             kwargs={"on_build": lambda stats: refresh(app, stats), "stop": stop,
                                     "settings": settings},
                             name="qa-seeds-watcher", daemon=True).start()
        yield
        stop.set()

    app = FastAPI(title="qa", summary="Extractive answers from a folder of sources, with their offsets.",
                  docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.index_dir = Path(index_dir)
    app.state.seeds_dir = Path(seeds_dir) if seeds_dir else None
    app.state.settings = settings
    app.state.retriever = None
    app.state.open_lock = threading.Lock()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    app.add_exception_handler(QAError, qa_error)
    return app


def qa_error(request: Request, error: Exception) -> Response:
    """Every `QAError` as a response with its HTTP status: `{"detail": message}` for the JSON
    API and /healthz, the error page for the other pages."""
    status = error.status if isinstance(error, QAError) else 500
    if request.url.path.startswith(JSON_PATHS):
        return JSONResponse({"detail": message(error)}, status_code=status)
    return pages.templates.TemplateResponse(request, "error.html", {
        "title": "No index" if status == 503 else "Error", "message": message(error)}, status_code=status)


def refresh(app: FastAPI, stats: BuildStats) -> None:
    """After a background build: swap the new index version into the running app."""
    if app.state.retriever is not None:
        app.state.retriever.refresh()
    print(f"qa serve: seeds changed: {stats.summary()} ({stats.version})", flush=True)


def serve(index_dir: str | Path = "index", seeds_dir: str | Path = "seeds",
          host: str = "127.0.0.1", port: int = 8000, settings: Settings = DEFAULT) -> None:
    """Build or update the index of `seeds_dir` (with progress), load it, then run uvicorn (with
    httptools). Numpy's BLAS runs one thread per call: requests run side by side, and more
    threads would wait on each other (FAISS and ONNX Runtime are set so by their settings)."""
    import uvicorn
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    print(f"qa serve: indexing {seeds_dir}/ into {index_dir}/", flush=True)
    stats = build_index(seeds_dir, index_dir, progress=True, settings=settings)
    print(f"qa serve: {stats.summary()}: {stats.documents} documents, {stats.chunks} chunks "
          f"({stats.version})", flush=True)
    app = create_app(index_dir, seeds_dir, watch=True, settings=settings)
    open_retriever(app)
    print(f"qa serve: answering on http://{host}:{port}/", flush=True)
    # Keep-alive outlasts a burst: under a queue of answers a client's next request must not
    # race the server closing its idle connection.
    uvicorn.run(app, host=host, port=port, log_level="warning", http="httptools",
                timeout_keep_alive=settings.serve.keep_alive_seconds)
