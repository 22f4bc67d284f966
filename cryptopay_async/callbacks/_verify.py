"""Checking a callback's signature over the raw bytes, then decoding it into a typed event."""

from __future__ import annotations

import hashlib
import hmac

from cryptopay_async import _decoding, _json
from cryptopay_async._decoding import DecodeError
from cryptopay_async._exceptions import CryptopayError, SignatureVerificationError
from cryptopay_async.callbacks._events import Callback, UnknownCallback
from cryptopay_async.callbacks._generated import KNOWN_CALLBACKS

SIGNATURE_HEADER = "X-Cryptopay-Signature"


class CallbackPayloadError(CryptopayError):
    """The signature is valid but the body is not a ``{type, event, data}`` callback."""


def signature_for(body: bytes, secret: str) -> str:
    """The lower-case hex HMAC-SHA256 Cryptopay puts in ``X-Cryptopay-Signature``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(
    body: bytes | bytearray | memoryview | str, signature: str | None, *, secret: str
) -> Callback:
    """Verify a callback and return it as a typed event.

    ``body`` must be the raw request body exactly as received (``await request.body()``),
    not parsed JSON: the signature covers the bytes. Raises ``SignatureVerificationError``
    when the signature is missing or does not match, ``CallbackPayloadError`` when a
    correctly signed body is not a callback this SDK can read.
    """
    raw = _raw_bytes(body)
    if not isinstance(secret, str) or not secret:
        raise ValueError("a non-empty callback secret is needed to verify callbacks")
    if not signature or not isinstance(signature, str):
        raise SignatureVerificationError(f"missing {SIGNATURE_HEADER} header")
    expected = signature_for(raw, secret)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise SignatureVerificationError(
            f"{SIGNATURE_HEADER} does not match the body (wrong secret, or the body was changed)"
        )
    return parse(raw)


def parse(raw: bytes) -> Callback:
    """Decode an already verified body; ``CallbackPayloadError`` for anything else."""
    try:
        document = _json.loads(raw)
    except ValueError:
        raise CallbackPayloadError(f"callback body is not JSON: {raw[:60]!r}") from None
    if not isinstance(document, dict) or not {"type", "event", "data"} <= document.keys():
        keys = sorted(document) if isinstance(document, dict) else type(document).__name__
        raise CallbackPayloadError(f"callback body is not a {{type, event, data}} object: {keys}")
    kind, event, data = document["type"], document["event"], document["data"]
    if not isinstance(kind, str) or not isinstance(event, str) or not isinstance(data, dict):
        raise CallbackPayloadError("callback type and event must be strings and data an object")
    cls = KNOWN_CALLBACKS.get(kind)
    if cls is None:
        return UnknownCallback(type=kind, event=event, data=data)
    try:
        # The same bytes again, typed: amounts sent as JSON numbers keep their exact text.
        result: Callback = _decoding.engine.document(raw, cls)
    except DecodeError as exc:
        raise CallbackPayloadError(f"{kind} callback does not decode: {exc}") from None
    return result


def _raw_bytes(body: object) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, bytearray | memoryview):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    raise TypeError(
        f"verify() needs the raw request body as bytes, got {type(body).__name__}: the "
        "signature covers the exact bytes received, which parsed JSON cannot reproduce "
        "(use `await request.body()` in FastAPI/Starlette, `await request.read()` in aiohttp)"
    )
