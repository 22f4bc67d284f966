"""Reading a 2xx answer: the ``{"data": ..., "meta": ...}`` envelope into models."""

from __future__ import annotations

from typing import Any, TypeVar

import cattrs
import httpx

from cryptopay_async import _error_messages as say
from cryptopay_async import _json
from cryptopay_async._converter import describe_error, structure
from cryptopay_async._exceptions import APIResponseValidationError

T = TypeVar("T")


def envelope(response: httpx.Response) -> dict[str, Any]:
    """The decoded JSON object of a success answer, or ``APIResponseValidationError``."""
    where = say.where(response.request)
    if response.status_code == 204:
        raise APIResponseValidationError(
            f"{where} answered 204 No Content where a body was expected", response=response
        )
    try:
        body = _json.loads(response.content)
    except ValueError:
        preview = response.content[:80]
        raise APIResponseValidationError(
            f"{where} answered {response.status_code} with a body that is not JSON: {preview!r}",
            response=response,
        ) from None
    if not isinstance(body, dict) or "data" not in body:
        raise APIResponseValidationError(
            f"{where} answered {response.status_code} with JSON that has no 'data' envelope",
            response=response,
        )
    return body


def decode(response: httpx.Response, data: Any, tp: Any, name: str) -> Any:
    """Structure ``data`` as ``tp``; a mismatch names the model and the field."""
    try:
        return structure(data, tp)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError, AttributeError) as exc:
        # AttributeError: cattrs calls .items() on whatever stands where a dict belongs
        reasons = describe_error(exc, path="data")
        raise APIResponseValidationError(
            f"could not decode {name} from {say.where(response.request)}: {reasons}",
            response=response,
        ) from exc
