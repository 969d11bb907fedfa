"""The qa web app: a chat page, document pages and a JSON API over one Retriever."""

from web.app import create_app, serve

__all__ = ["create_app", "serve"]
