"""JSON in and out: orjson when installed (``[speedups]``), the standard library otherwise."""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson

    HAVE_ORJSON = True
except ImportError:  # pragma: no cover
    HAVE_ORJSON = False


def _std_dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _std_loads(data: bytes | str) -> Any:
    try:
        return json.loads(data)
    except RecursionError:  # orjson refuses past 1024 levels with a ValueError; so do we
        raise ValueError("JSON nested too deeply") from None


if HAVE_ORJSON:

    def dumps(value: Any) -> bytes:
        """Compact UTF-8 JSON bytes."""
        return orjson.dumps(value)

    def loads(data: bytes | str) -> Any:
        """Parse JSON; raises ``ValueError`` on anything that is not JSON."""
        return orjson.loads(data)

else:  # pragma: no cover
    dumps = _std_dumps
    loads = _std_loads
