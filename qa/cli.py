"""The `qa` command: index, search, ask, serve."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Sequence

from qa import embedding
from qa.answering import Answer, cue
from qa.build import build_index
from qa.errors import QAError
from qa.retrieval import Passage
from qa.settings import DEFAULT, Settings
from qa.store import open_store

HIGHLIGHT = "\033[1;30;43m"
DIM = "\033[2m"
RESET = "\033[0m"


def use_colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def highlighted(text: str, start: int, end: int, colour: bool) -> str:
    """`text` with [start, end) marked: reverse colours on a terminal, [[...]] otherwise."""
    before, span, after = text[:start], text[start:end], text[end:]
    return f"{before}{HIGHLIGHT}{span}{RESET}{after}" if colour else f"{before}[[{span}]]{after}"


def print_answer(answer: Answer, likely_from: float = DEFAULT.answering.likely_confidence) -> None:
    colour = use_colour()
    if not answer.found:
        print("The sources don't say.")
        if answer.passages:
            print("\nClosest passages:")
            print_passages(answer.passages, colour)
        return
    span_start = answer.start - answer.sentence_start
    print(highlighted(answer.sentence, span_start, span_start + len(answer.text), colour))
    source = (f"— {answer.title} ({answer.doc_id}{page_of(answer.page)}, characters {answer.start}-{answer.end}); "
              f"{cue(answer, likely_from)}, confidence {answer.confidence:.2f}")
    print(f"{DIM}{source}{RESET}" if colour else source)
    if answer.conflicts:
        print("\nThe sources differ:")
        for conflict in answer.conflicts:
            start = conflict.start - conflict.sentence_start
            print(highlighted(conflict.sentence, start, conflict.end - conflict.sentence_start, colour))
            other = (f"— {conflict.title} ({conflict.doc_id}{page_of(conflict.page)}, "
                     f"characters {conflict.start}-{conflict.end})")
            print(f"{DIM}{other}{RESET}" if colour else other)


def page_of(page: str | None) -> str:
    return f", p. {page}" if page else ""


def print_passages(passages: Sequence[Passage], colour: bool) -> None:
    for number, passage in enumerate(passages, 1):
        heading = f"{number}. {passage.title} ({passage.doc_id}{page_of(passage.page)}) score {passage.score:.3f}"
        print(f"{DIM}{heading}{RESET}" if colour else heading)
        print("   " + " ".join(passage.text.split()))


def settings_of(args) -> Settings:
    """The settings a command runs with: the defaults, in the collection it names, with the model
    of `--model`."""
    settings = DEFAULT.replace(store={"collection": args.collection}) if args.collection else DEFAULT
    if not getattr(args, "model", None):
        return settings
    return settings.replace(embedding={"model": args.model, "dimension": embedding.dimension_of(args.model)})


def command_index(args) -> int:
    settings = settings_of(args)
    settings = settings.replace(sources={"ocr": True}) if args.ocr else settings
    store = open_store(args.index, settings)
    stats = build_index(args.seeds, store=store, progress=True, wait=not args.no_wait, settings=settings)
    report_build(stats, store)
    if args.watch:
        from qa.watch import watch

        print(f"watching {args.seeds}/ for changes (Ctrl-C to stop)", flush=True)
        watch(args.seeds, lambda: report_build(build_index(args.seeds, store=store, progress=False,
                                                          settings=settings), store), settings=settings)
    return 0


def report_build(stats, store) -> None:
    print(f"{stats.summary()}: {stats.documents} documents, {stats.chunks} chunks, "
          f"{stats.sentences} sentences in {store} ({stats.version})", flush=True)
    for reason in stats.skipped:
        print(f"  skipped {reason}", flush=True)


def open_retriever(args):
    from qa.retriever import Retriever

    return Retriever.open(args.index, settings_of(args))


def as_json(data) -> str:
    """JSON for people and scripts, scores rounded to 4 places (here, at the edge, not before)."""
    def rounded(value):
        if isinstance(value, float):
            return round(value, 4)
        if isinstance(value, dict):
            return {key: rounded(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [rounded(item) for item in value]
        return value

    return json.dumps(rounded(data), ensure_ascii=False, indent=2)


def command_search(args) -> int:
    passages = open_retriever(args).search(args.question, k=args.k)
    if args.json:
        print(as_json([dataclasses.asdict(p) for p in passages]))
    else:
        print_passages(passages, use_colour())
    return 0


def command_ask(args) -> int:
    answer = open_retriever(args).answer(args.question)
    if args.json:
        print(as_json(dataclasses.asdict(answer)))
    else:
        print_answer(answer)
    return 0


def command_serve(args) -> int:
    from web.app import serve

    serve(args.index, args.seeds, args.host, args.port, settings_of(args),
          token=args.token or os.environ.get("QA_TOKEN", ""), index=not args.no_index)
    return 0


def add_store(command: argparse.ArgumentParser) -> None:
    """--index/--store and --collection: where the index is."""
    command.add_argument("--index", "--store", dest="index", default=os.environ.get("QA_STORE") or "index",
                         metavar="FOLDER_OR_URL",
                         help="index folder, or the postgresql://user@host/db URL of a shared store "
                              "(default: $QA_STORE, else index)")
    command.add_argument("--collection", help="collection in a shared store: one schema each (default: "
                                               f"{DEFAULT.store.collection})")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="qa", description="Extractive question answering over a folder of sources.")
    commands = main.add_subparsers(dest="command", required=True)

    index = commands.add_parser("index", help="build or update the index of the seeds folder")
    index.add_argument("--seeds", default="seeds",
                       help="folder of .txt/.md/.html/.pdf/.docx/.pptx/.odt/.epub sources (default: seeds)")
    add_store(index)
    index.add_argument("--no-wait", action="store_true", help="exit at once if another build is running")
    index.add_argument("--watch", action="store_true", help="keep watching the seeds and rebuild on change")
    index.add_argument("--ocr", action="store_true",
                       help="run ocrmypdf on PDFs with scanned pages (when installed) and index the result")
    index.set_defaults(run=command_index)

    sub_commands = []
    for name, run, help_text in (("search", command_search, "show the best passages for a question"),
                                 ("ask", command_ask, "answer a question from the sources")):
        sub = commands.add_parser(name, help=help_text)
        sub_commands.append(sub)
        sub.add_argument("question")
        add_store(sub)
        sub.add_argument("--json", action="store_true", help="print JSON")
        if name == "search":
            sub.add_argument("-k", type=int, default=5, help="how many passages (default: 5)")
        sub.set_defaults(run=run)

    serve = commands.add_parser("serve", help="serve the chat page and JSON API (indexes first)")
    add_store(serve)
    serve.add_argument("--seeds", default="seeds", help="folder of sources (default: seeds)")
    serve.add_argument("--no-index", action="store_true", help="serve the index as it is, without indexing the "
                                                               "seeds: for servers of a shared store that "
                                                               "`qa index` updates")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument("--token", default="", help="access token clients must give (default: $QA_TOKEN); "
                                                     "required with a --host other than loopback")
    serve.set_defaults(run=command_serve)
    for command in (index, *sub_commands, serve):
        command.add_argument("--model", metavar="PATH", help="a sentence-transformers model folder to embed with "
                                                           "(default: the packaged all-MiniLM-L6-v2)")
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="qa: %(message)s")
    if getattr(args, "question", None) is not None and not args.question.strip():
        print(f"qa {args.command}: the question is empty", file=sys.stderr)
        return 2
    try:
        return args.run(args)
    except QAError as error:  # one place maps every qa error to its exit code
        print(f"qa {args.command}: {error}", file=sys.stderr)
        return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
