"""The JSON error payload: ``{"error": {"code", "message", "details"}, "meta": {"request_id"}}``.

Read from any answer, whatever it holds: a body that is not that shape gives None, and
the exception is then built from the status alone.
"""

from __future__ import annotations

from typing import Any

import attrs
import httpx

from cryptopay_async import _json


@attrs.frozen
class ErrorDetail:
    """One failed validation rule of a 422 answer (``error.details[]``)."""

    code: str
    target: str | None = None
    message: str | None = None
    args: dict[str, Any] = attrs.field(factory=dict)


def error_payload(response: httpx.Response) -> tuple[dict[str, Any], str | None] | None:
    """The ``error`` object and ``meta.request_id`` of a body, or None if it has another shape."""
    try:
        body = _json.loads(response.content)
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None
    meta = body.get("meta")
    request_id = meta.get("request_id") if isinstance(meta, dict) else None
    return body["error"], request_id if isinstance(request_id, str) else None


def detail_of(item: dict[str, Any]) -> ErrorDetail:
    args = item.get("args")
    return ErrorDetail(
        code=str(item.get("code", "")),
        target=item.get("target") if isinstance(item.get("target"), str) else None,
        message=item.get("message") if isinstance(item.get("message"), str) else None,
        args=args if isinstance(args, dict) else {},
    )


def status_text(response: httpx.Response) -> str:
    return response.reason_phrase or f"HTTP {response.status_code}"
