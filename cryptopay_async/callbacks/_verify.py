"""Checking a callback's signature over the raw bytes, then decoding it into a typed event."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence

from cryptopay_async import _json
from cryptopay_async._decoding import _engines as _decoding
from cryptopay_async._decoding._engines import DecodeError
from cryptopay_async._errors._exceptions import CryptopayError, SignatureVerificationError
from cryptopay_async.callbacks._events import Callback, UnknownCallback
from cryptopay_async.models._callbacks import KNOWN_CALLBACKS

SIGNATURE_HEADER = "X-Cryptopay-Signature"
MAX_DEPTH = 32
"""Deepest JSON nesting a callback may have. Cryptopay's go 4 levels deep; deeper ones
are refused before anything walks them recursively (converting, hashing for dedupe)."""


class CallbackPayloadError(CryptopayError):
    """The signature is valid but the body is not a ``{type, event, data}`` callback."""


def signature_for(body: bytes, secret: str) -> str:
    """The lower-case hex HMAC-SHA256 Cryptopay puts in ``X-Cryptopay-Signature``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def callback_secrets(secret: object) -> tuple[str, ...]:
    """The secrets a callback may be signed with: ``"new,old"`` or ``["new", "old"]``.

    Several secrets let the secret be rotated without downtime: configure ``[new, old]``,
    switch the secret at Cryptopay, drop ``old`` once its deliveries are done. A secret
    never contains a comma, so a comma always separates two.
    """
    parts = secret.split(",") if isinstance(secret, str) else secret
    if isinstance(parts, bytes | bytearray) or not isinstance(parts, Sequence):
        raise TypeError(f"a callback secret is a str or a list of str, got {type(secret).__name__}")
    secrets = tuple(parts)
    if not secrets or not all(isinstance(one, str) and one and "," not in one for one in secrets):
        raise ValueError(
            "a non-empty callback secret is needed to verify callbacks (several: a list of "
            "non-empty str, or one str of them separated by commas)"
        )
    return secrets


def verify(
    body: bytes | bytearray | memoryview | str,
    signature: str | None,
    *,
    secret: str | Sequence[str],
) -> Callback:
    """Verify a callback and return it as a typed event.

    ``body`` must be the raw request body exactly as received (``await request.body()``),
    not parsed JSON: the signature covers the bytes. ``secret`` may be several
    (``[new, old]`` or ``"new,old"``, see ``callback_secrets``): a body signed with any
    of them verifies; each is compared in constant time and all of them always are, so
    neither the time taken nor the error tells which one came close. Raises
    ``SignatureVerificationError`` when the signature is missing or matches none,
    ``CallbackPayloadError`` when a correctly signed body is not a callback this SDK
    can read.
    """
    raw = _raw_bytes(body)
    secrets = callback_secrets(secret)
    if not signature or not isinstance(signature, str):
        raise SignatureVerificationError(f"missing {SIGNATURE_HEADER} header")
    given = signature.strip().lower()
    if not given.isascii():  # e.g. b"\xff\xfe" that the web framework decoded as "\udcff\udcfe"
        raise SignatureVerificationError(f"{SIGNATURE_HEADER} is not a hexadecimal digest")
    matched = False
    for one in secrets:  # no early exit: every secret costs the same whether it matches
        matched |= hmac.compare_digest(signature_for(raw, one), given)
    if not matched:
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
        keys = sorted(document)[:10] if isinstance(document, dict) else type(document).__name__
        raise CallbackPayloadError(f"callback body is not a {{type, event, data}} object: {keys}")
    kind, event, data = document["type"], document["event"], document["data"]
    if not isinstance(kind, str) or not isinstance(event, str) or not isinstance(data, dict):
        raise CallbackPayloadError("callback type and event must be strings and data an object")
    if _deeper_than(document, MAX_DEPTH):
        raise CallbackPayloadError(f"callback body is nested deeper than {MAX_DEPTH} levels")
    cls = KNOWN_CALLBACKS.get(kind)
    if cls is None:
        return UnknownCallback(type=kind, event=event, data=data)
    try:
        # The same bytes again, typed: amounts sent as JSON numbers keep their exact text.
        result: Callback = _decoding.engine.document(raw, cls)
    except DecodeError as exc:
        raise CallbackPayloadError(f"{kind} callback does not decode: {exc}") from None
    return result


def _deeper_than(document: object, limit: int) -> bool:
    """Whether objects and arrays nest more than ``limit`` levels (walked without recursion)."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Iterable[object] = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _raw_bytes(body: object) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, bytearray | memoryview):
        return bytes(body)
    if isinstance(body, str):
        try:  # surrogateescape: a body decoded that way gets its original bytes back
            return body.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raise SignatureVerificationError(
                "the callback body is a str with characters no bytes were sent as: it is "
                "not the body that was signed"
            ) from None
    raise TypeError(
        f"verify() needs the raw request body as bytes, got {type(body).__name__}: the "
        "signature covers the exact bytes received, which parsed JSON cannot reproduce "
        "(use `await request.body()` in FastAPI/Starlette, `await request.read()` in aiohttp)"
    )
