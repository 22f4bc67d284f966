"""Reading a 2xx answer: the ``{"data": ..., "meta": ...}`` envelope into models."""

from __future__ import annotations

from typing import Any

import httpx

from cryptopay_async._decoding import _engines as _decoding
from cryptopay_async._decoding._engines import DecodeError
from cryptopay_async._errors import _messages as say
from cryptopay_async._errors._exceptions import APIResponseValidationError


def decode_envelope(response: httpx.Response, tp: Any, name: str) -> tuple[Any, Any]:
    """``(data as tp, meta)`` of a success answer, or ``APIResponseValidationError``.

    The message names the request, the model and the first failing path
    (``$.data[3].pay_amount``), and stays short whatever the body's size.
    """
    if response.status_code == 204:
        raise APIResponseValidationError(
            f"{say.where(response.request)} answered 204 No Content where a body was expected",
            response=response,
        )
    try:
        return _decoding.engine.envelope(response.content, tp)
    except DecodeError as exc:
        where, status = say.where(response.request), response.status_code
        if exc.kind == "not_json":
            preview = response.content[:80]
            message = f"{where} answered {status} with a body that is not JSON: {preview!r}"
        elif exc.kind == "no_envelope":
            message = f"{where} answered {status} with JSON that has no 'data' envelope"
        else:
            message = f"could not decode {name} from {where}: {exc}"
        raise APIResponseValidationError(message, response=response) from None
