"""JSON parsing of request bodies as RFC 8259 defines JSON, refusing what json.loads allows.

Every refusal is a ValueError: werkzeug's `request.get_json` turns exactly those into
"not valid JSON", so the client gets the 400 envelope and no traceback is logged.

Decisions (also in the README and the OpenAPI description):
- UTF-8 only (RFC 8259 section 8.1): json.loads would also guess UTF-16/32 and let
  undecodable surrogates through.
- NaN, Infinity, -Infinity and numbers that overflow to infinity (1e400) are refused:
  they are not JSON, no column can hold them, and our own answers could not encode them.
- A key repeated within one object is refused: parsers disagree on which value wins, so
  a body that means one thing to a proxy or a client library must not mean another here.
- Nesting deeper than Python's recursion limit and integers longer than Python's
  int-digits limit (4300) are refused; json.loads raises RecursionError for the former,
  which is no ValueError and would escape as a 500.
"""

import json
import math
from typing import Any

from flask.json.provider import DefaultJSONProvider


class RefusedJSON(ValueError):
    """The body is JSON that json.loads would take but this API does not."""


def _refuse_constant(name: str) -> Any:
    raise RefusedJSON(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise RefusedJSON("number out of range")
    return value


def _object_without_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise RefusedJSON("an object repeats a key")
    return obj


class StrictJSONProvider(DefaultJSONProvider):
    """The app's JSON: answers as Flask writes them, bodies parsed strictly."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            # Strict UTF-8 (ValueError otherwise), unlike json.loads' encoding detection.
            text = s.decode("utf-8") if isinstance(s, bytes | bytearray) else s
            return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float,
                              object_pairs_hook=_object_without_repeated_keys, **kwargs)
        except RecursionError:
            raise RefusedJSON("nested too deeply") from None
