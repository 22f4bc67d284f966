"""The web-framework-free core of a callback endpoint: verify, deduplicate, hand over."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

import attrs

from cryptopay_async import _otel
from cryptopay_async._errors import _messages as say
from cryptopay_async._errors._exceptions import SignatureVerificationError
from cryptopay_async._runtime._environment import ENV_CALLBACK_SECRET, callback_secret
from cryptopay_async.callbacks._dedupe import Deduplicator, DeliveryStore, Verdict
from cryptopay_async.callbacks._events import Callback
from cryptopay_async.callbacks._verify import CallbackPayloadError, callback_secrets, verify

logger = logging.getLogger("cryptopay_async.callbacks")

Handler = Callable[[Callback], Awaitable[object]]
SecretSource = str | Sequence[str] | Callable[[], str | Sequence[str] | None] | None


@attrs.frozen
class Outcome:
    """What the endpoint answers: 200 makes Cryptopay stop retrying, anything else retries."""

    status: int
    text: str
    event: Callback | None = None


def resolve_secret(source: SecretSource) -> tuple[str, ...]:
    """The callback secrets from a string, a list, a callable, or
    ``CRYPTOPAY_CALLBACK_SECRET`` (``new,old`` while rotating)."""
    value = callback_secret(source() if callable(source) else source)
    if value is None:
        raise ValueError(
            f"no callback secret: pass secret=... or set the {ENV_CALLBACK_SECRET} "
            "environment variable"
        )
    return callback_secrets(value)


class CallbackReceiver:
    """Verifies a delivery, runs ``handler`` once per event, and says what to answer.

    400 for a bad signature or body (retrying cannot fix it), 200 for a repeat without
    calling ``handler``, 409 while another delivery's (or a sweep's) handler of the same
    state is still running (Cryptopay delivers it again later, so a handler that then
    fails or dies loses nothing), 500 when ``handler`` raised (the event is forgotten so
    the next delivery runs it again), 503 when the store failed (``handler`` not called).
    ``secret`` is a string, a callable returning one (read at each request, e.g. from
    your client), or None for ``CRYPTOPAY_CALLBACK_SECRET``.
    ``store`` (e.g. ``RedisDeliveryStore``) is where processed events are remembered,
    a shorthand for ``deduplicator=Deduplicator(store)``.

    With the ``otel`` extra, each delivery is a span ``callback {type}.{event}`` and a
    count of ``cryptopay.callbacks`` (``tracer_provider`` and ``meter_provider``, else
    the global ones, read here once); ``span_kind="server"`` is what the web-framework
    integrations pass, the receiver alone makes ``"internal"`` spans.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        secret: SecretSource = None,
        deduplicator: Deduplicator | None = None,
        store: DeliveryStore | None = None,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        span_kind: Literal["internal", "server"] = "internal",
    ) -> None:
        if deduplicator is not None and store is not None:
            raise ValueError("pass either deduplicator or store, not both")
        if span_kind not in ("internal", "server"):
            raise ValueError(f"span_kind must be 'internal' or 'server', got {span_kind!r}")
        self.handler = handler
        self._secret = secret
        self.deduplicator: Deduplicator = (
            deduplicator if deduplicator is not None else Deduplicator(store)
        )
        self._telemetry = _otel.callback_telemetry(
            tracer_provider, meter_provider, server=span_kind == "server"
        )

    async def receive(self, body: bytes, signature: str | None) -> Outcome:
        """Verify, deduplicate and handle one delivery; what to answer."""
        telemetry = self._telemetry
        if telemetry is None:
            return await self._receive(body, signature)
        with telemetry.delivery() as delivery:
            delivery.outcome = await self._receive(body, signature)
        return delivery.outcome

    async def _receive(self, body: bytes, signature: str | None) -> Outcome:
        try:
            event = verify(body, signature, secret=resolve_secret(self._secret))
        except SignatureVerificationError as exc:
            logger.warning("callback refused: %s", say.clip(str(exc)))
            return Outcome(400, "invalid signature")
        except CallbackPayloadError as exc:
            logger.warning("callback refused: %s", say.clip(str(exc)))
            return Outcome(400, "malformed callback")
        kind = f"{say.clip(event.type, 60)}/{say.clip(str(event.event), 60)}"  # sender's text
        try:
            verdict = await self.deduplicator.claim(event)
        except Exception:
            # The store (e.g. Redis) failed: nothing ran; Cryptopay delivers it again.
            logger.exception("callback store failed for %s: answering 503", kind)
            return Outcome(503, "store unavailable", event)
        if verdict is Verdict.HANDLED:
            logger.debug("callback %s repeated: already processed", kind)
            return Outcome(200, "duplicate", event)
        if verdict is Verdict.IN_PROGRESS:
            logger.debug("callback %s repeated while its handler runs: answering 409", kind)
            return Outcome(409, "in progress", event)
        try:
            await self.deduplicator.hold(event, lambda: self.handler(event))
        except Exception:
            logger.exception("callback handler failed for %s", kind)
            try:
                await self.deduplicator.forget(event)
            except Exception:
                logger.exception(
                    "could not forget %s after its handler failed: its repeats are answered "
                    "409 until its claim lapses",
                    kind,
                )
            return Outcome(500, "handler failed", event)
        try:
            await self.deduplicator.handled(event)
        except Exception:
            # Handled, but the claim lapses after its lease: a later repeat or sweep
            # may run it again (handlers are idempotent). Answering 200 is still right.
            logger.exception("could not keep %s as handled after its lease", kind)
        return Outcome(200, "ok", event)
