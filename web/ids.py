"""Document ids in URL paths: any text, line breaks included.

Starlette's `path` convertor matches `.*`, which stops at a line break, so a file
named with one would have no page; `{doc_id:doc}` matches everything.
"""

from __future__ import annotations

from starlette.convertors import PathConvertor, register_url_convertor


class DocumentIdConvertor(PathConvertor):
    regex = "[\\s\\S]*"


register_url_convertor("doc", DocumentIdConvertor())
