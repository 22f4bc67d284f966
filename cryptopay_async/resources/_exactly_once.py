"""Exactly-once creates and commits: an ambiguous failure is settled, never guessed.

Cryptopay has no idempotency keys, but a ``custom_id`` is unique per resource (a second
create with it is refused with 409 ``duplicate_custom_id``), objects can be read back by
it, and a second commit is refused with 409 ``already_committed``. So when a create
carrying a ``custom_id`` or a commit fails in a way that may have been processed (read
timeout, connection dropped after sending, 500/502/504, an unreadable 2xx), this module
reads the object back; found → returned (after checking it is what was asked), not found
→ sent again, which is safe because the server refuses a duplicate. Every attempt goes
through the client's whole chain (limiter, signing, retry of the read-backs); the number
of repeats is ``RetryPolicy.max_retries`` and no attempt starts after
``RetryPolicy.recovery_deadline``.

Written by hand: this is the API's own recovery protocol; no library knows it. How to
read back and what must match is data on each ``Operation`` (``recovery``, from the
tables in ``codegen/_spec.py``). Only the ledger search for a create that cannot be read
back by ``custom_id`` (an exchange transfer) names the operations it reads.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import anyio

from cryptopay_async import _telemetry
from cryptopay_async._errors._exceptions import (
    APIConnectionError,
    CommitExpiredError,
    ConflictError,
    CryptopayError,
    CustomIdMismatchError,
    NotFoundError,
    RateLimitError,
    RecoveryError,
    ServerError,
    UnprocessableEntityError,
)
from cryptopay_async._errors._messages import MAX_ID, clip, shown
from cryptopay_async.models._pagination import Page
from cryptopay_async.resources._recovery import CommitRecovery, CreateRecovery, Recovery, Remember
from cryptopay_async.resources._sender import operation as bound

if TYPE_CHECKING:
    from cryptopay_async.resources._sender import Container

logger = logging.getLogger("cryptopay_async")

Send = Callable[[], Awaitable[Any]]

# How a field is compared: amounts as numbers, codes without regard to case, text exactly.
_AMOUNTS = frozenset({"price_amount", "amount", "charged_amount", "received_amount"})
_CODES = frozenset(
    {"price_currency", "pay_currency", "receiver_currency", "currency", "charged_currency"}
    | {"received_currency", "network", "period"}
)


_LEDGER_SCAN = 1000  # ledger rows looked at, at most, to find one exchange transfer


async def run(
    client: Container,
    operation: str,
    recovery: Recovery,
    path_args: tuple[str, ...],
    values: Mapping[str, Any],
    send: Send,
) -> Any:
    """Run ``send`` (one attempt of ``operation``) and settle an ambiguous failure."""
    if isinstance(recovery, Remember):
        created = await send()
        if created is not None:  # 204 No Content: nothing to remember
            client.memory.keep(created.id, created)
        return created
    if isinstance(recovery, CreateRecovery):
        custom_id = values.get("custom_id")
        if custom_id is None:
            return await send()
        return await _Create(client, operation, recovery, custom_id, values, send).run()
    return await _Commit(client, operation, recovery, path_args, send).run()


class _Attempts:
    """The bound shared by creates and commits: repeats and the overall deadline."""

    def __init__(self, client: Container, operation: str) -> None:
        self.client = client
        self.operation = operation
        self.policy = client.sender.retry_policy
        self.started = anyio.current_time()
        self.repeats = 0
        self.ambiguous: CryptopayError | None = None
        self.found = False  # settled by reading back (else by sending again)

    async def settled(self, settle: Send, advice: str) -> Any:
        """``settle()``, its errors made to say an earlier attempt may have acted; the
        outcome of recovery (if one was needed) noted for telemetry."""
        try:
            result = await settle()
        except CryptopayError as exc:
            if self.ambiguous is not None:
                _telemetry.note_recovery("unsettled")
            raise self.still_ambiguous(exc, advice) from exc.__cause__
        if self.ambiguous is not None:
            _telemetry.note_recovery("found" if self.found else "resent")
        return result

    def note_ambiguous(self, error: CryptopayError) -> None:
        self.ambiguous = error
        logger.info(
            "%s failed ambiguously (%s): reading back before repeating",
            self.operation,
            type(error).__name__,
        )

    def still_ambiguous(self, error: CryptopayError, advice: str) -> CryptopayError:
        """``error`` as raised after an earlier attempt may have been processed.

        Whatever ends recovery afterwards (a repeat refused for another reason, a
        read-back refused for good) says nothing about that earlier attempt, so it must
        not claim ``maybe_processed=False``. Only answers that settle the question keep
        their own: an object found that is not this call's, a verified expiry, and the
        SDK's own verdicts (``RecoveryError``).
        """
        if self.ambiguous is None or error.maybe_processed or isinstance(error, _SETTLING):
            return error
        error.maybe_processed = True
        error._amend(f"an earlier attempt failed ambiguously ({self.ambiguous}): {advice}")
        return error

    async def next_round(self, advice: str) -> None:
        """Wait before the next repeat, or give up with the last ambiguous error."""
        elapsed = anyio.current_time() - self.started
        if self.repeats >= self.policy.max_retries or elapsed >= self.policy.recovery_deadline:
            error = self.ambiguous
            assert error is not None
            error._amend(
                f"still unsettled after {self.repeats + 1} attempt(s) in {elapsed:.1f} s: {advice}"
            )
            raise error
        await anyio.sleep(self.policy.backoff(self.repeats))
        self.repeats += 1
        _telemetry.note_retry("read_back")

    async def ledger_row(self, matches: Callable[[Any], bool]) -> Any:
        """The newest exchange-transfer ledger row that ``matches`` (a bounded scan)."""
        since = datetime.now(UTC) - timedelta(seconds=self.policy.recovery_deadline + 600)
        listing = bound(self.client, "transactions.list")(
            reference_type="ExchangeTransfer", created_at_from=since
        )
        page: (
            Page[Any] | None
        ) = await listing  # pages by hand: no generator left open after a match
        scanned = 0
        while page is not None and scanned < _LEDGER_SCAN:
            for row in page.data:
                if matches(row):
                    return row
            scanned += len(page.data)
            page = await page.next_page()
        return None

    async def read(self, dotted: str, *args: str) -> Any:
        """A read-back (a GET, retried by the chain); None if not found, or if unreachable."""
        try:
            return await bound(self.client, dotted)(*args)
        except NotFoundError:
            return None
        except (APIConnectionError, ServerError, RateLimitError) as exc:
            logger.info("%s read-back failed (%s): trying again", self.operation, exc)
            return None


class _Create(_Attempts):
    def __init__(
        self,
        client: Container,
        operation: str,
        recovery: CreateRecovery,
        custom_id: str,
        values: Mapping[str, Any],
        send: Send,
    ) -> None:
        super().__init__(client, operation)
        self.recovery = recovery
        self.custom_id = custom_id
        self.values = values
        self.send = send

    @property
    def advice(self) -> str:
        return (
            f"it may exist; read it back later by custom_id {shown(self.custom_id)}; "
            "repeating this call is safe (a duplicate is refused with 409)"
        )

    async def run(self) -> Any:
        return await self.settled(self._settle, self.advice)

    async def _settle(self) -> Any:
        recovery, custom_id = self.recovery, self.custom_id
        while True:
            try:
                return await self.send()
            except ConflictError:
                if self.ambiguous is None:  # the first attempt: a genuine reuse (named)
                    raise
                logger.info(
                    "%s repeat refused with 409: an earlier attempt got through", self.operation
                )
                found = await self._find()
                if found is not None:
                    return self._checked(found)
            except CryptopayError as exc:
                if not exc.maybe_processed:
                    if self.ambiguous is None or recovery.read_back is None:
                        raise
                    # A repeat refused (say for the balance the first attempt used) is
                    # no proof the first did not land: look once more before raising.
                    found = await self.read(recovery.read_back, custom_id)
                    if found is not None:
                        return self._checked(found)
                    raise
                self.note_ambiguous(exc)
                if recovery.read_back is not None:
                    found = await self.read(recovery.read_back, custom_id)
                    if found is not None:
                        return self._checked(found)
            await self.next_round(self.advice)

    async def _find(self) -> Any:
        if self.recovery.read_back is not None:
            return await self.read(self.recovery.read_back, self.custom_id)
        return await self._find_exchange_transfer()

    async def _find_exchange_transfer(self) -> Any:
        """An executed transfer is in the ledger; a two-step one is not until committed."""
        row = await self.ledger_row(lambda row: row.custom_id == self.custom_id)
        if row is not None:
            return await self.read("exchange_transfers.retrieve", row.reference_id)
        executed = bool(self.values.get("force_commit"))
        if executed:
            state = (
                "It was created with force_commit and executed, but is not yet in the "
                "transactions list: find it there (reference_type ExchangeTransfer) "
                "before doing anything else"
            )
        else:
            state = (
                "It was created two-step and never committed, so nothing was moved and "
                "it expires 30 s after creation; create it again with a new custom_id"
            )
        raise RecoveryError(
            f"exchange transfer with custom_id {shown(self.custom_id)} was created by an "
            "earlier attempt whose answer was lost, and the API cannot read an exchange "
            f"transfer back by custom_id. {state}",
            maybe_processed=executed,
        ) from self.ambiguous

    def _checked(self, found: Any) -> Any:
        matching(self.recovery, self.custom_id, self.values, found)
        self.found = True
        logger.info("%s settled: custom_id read back after an ambiguous failure", self.operation)
        return found


async def existing(client: object, recovery: CreateRecovery, values: Mapping[str, Any]) -> Any:
    """The object an earlier call created with ``values["custom_id"]``, read back now.

    Raises ``CustomIdMismatchError`` when it is not what ``values`` ask for, and
    ``NotFoundError`` when there is none (or the API cannot read it back by custom_id).
    """
    custom_id = values["custom_id"]
    if recovery.read_back is None:
        raise RecoveryError(
            f"the API cannot read a {recovery.what} back by custom_id {shown(custom_id)}",
            maybe_processed=True,
        )
    found = await bound(client, recovery.read_back)(custom_id)
    return matching(recovery, custom_id, values, found)


def matching(
    recovery: CreateRecovery, custom_id: str, values: Mapping[str, Any], found: Any
) -> Any:
    """``found`` if it is what ``values`` asked for, else ``CustomIdMismatchError``."""
    differences: dict[str, tuple[Any, Any]] = {}
    for field in recovery.compare:
        asked = values.get(field)
        if asked is None:
            continue
        have = getattr(found, field, None)
        if not _same(field, asked, have):
            differences[field] = (asked, have)
    if differences:
        # The caller's text and the server's, escaped and bounded: one line, no forgery.
        listed = "; ".join(
            f"{f}: asked {clip(str(a), MAX_ID)}, found {clip(str(h), MAX_ID)}"
            for f, (a, h) in differences.items()
        )
        raise CustomIdMismatchError(
            f"custom_id {shown(custom_id)} belongs to a {recovery.what} "
            f"({clip(str(found.id), MAX_ID)}) that "
            f"is not what this call asked for ({listed}); it is not returned as yours: use "
            "a new custom_id, or read that one back if it is yours",
            custom_id=custom_id,
            differences=differences,
            found=found,
        )
    return found


def _same(field: str, asked: Any, have: Any) -> bool:
    if have is None:
        return False
    if field in _AMOUNTS:
        try:
            return Decimal(str(asked)) == Decimal(str(have))
        except InvalidOperation:
            return False
    if field in _CODES:
        return str(asked).casefold() == str(have).casefold()
    if isinstance(asked, int) and not isinstance(asked, bool):
        return bool(asked == have)
    return str(asked) == str(have)


class _Commit(_Attempts):
    def __init__(
        self,
        client: Container,
        operation: str,
        recovery: CommitRecovery,
        path_args: tuple[str, ...],
        send: Send,
    ) -> None:
        super().__init__(client, operation)
        self.recovery = recovery
        self.path_args = path_args
        self.send = send

    ADVICE = (
        "it may have been committed; read it back and check before committing "
        "again (a second commit is refused with 409)"
    )

    async def run(self) -> Any:
        return await self.settled(self._settle, self.ADVICE)

    async def _settle(self) -> Any:
        recovery = self.recovery
        while True:
            try:
                result = await self.send()
            except ConflictError as exc:
                if self.ambiguous is None:  # the caller committed it before
                    raise
                logger.info(
                    "%s repeat refused with 409: an earlier attempt committed it", self.operation
                )
                return await self._committed(exc)
            except UnprocessableEntityError as exc:
                if not _expired(exc):
                    raise
                if self.ambiguous is not None:
                    committed = await self._was_committed()
                    if committed is None:
                        raise RecoveryError(
                            f"{recovery.what} {self.path_args[-1]}: an earlier commit "
                            "failed ambiguously, the repeat was refused as expired, and "
                            "it could not be read back to tell whether the earlier one "
                            "was applied: read it back later; do not create a "
                            "replacement until you know",
                            maybe_processed=True,
                        ) from exc
                    if committed:
                        return await self._committed(exc)
                raise CommitExpiredError(
                    f"not committed within its 30-second window: this {recovery.what} "
                    "expired and nothing was moved; create a new one",
                    response=exc.response,
                    code=exc.code,
                    details=exc.details,
                    request_id=exc.request_id,
                ) from exc
            except CryptopayError as exc:
                if not exc.maybe_processed:
                    if self.ambiguous is not None and await self._was_committed():
                        return await self._committed(exc)
                    raise
                self.note_ambiguous(exc)
                if recovery.uncommitted is not None:
                    current = await self.read(recovery.read_back, self.path_args[0])
                    if current is not None and recovery.committed(current):
                        logger.info("%s settled: read back as committed", self.operation)
                        return await self._result(current)
            else:
                if recovery.remembered:
                    self.client.memory.pop(self.path_args[1])
                return result
            await self.next_round(self.ADVICE)

    async def _was_committed(self) -> bool | None:
        """Whether an earlier attempt committed it; None when that cannot be told now."""
        if self.recovery.uncommitted is not None:
            current = await self.read(self.recovery.read_back, self.path_args[0])
            return None if current is None else self.recovery.committed(current)
        # An exchange transfer moves money in the ledger only once committed.
        transfer_id = self.path_args[0]
        row = await self.ledger_row(lambda row: row.reference_id == transfer_id)
        return row is not None

    async def _committed(self, cause: CryptopayError) -> Any:
        current = await self.read(self.recovery.read_back, self.path_args[0])
        if current is None:
            raise RecoveryError(
                f"{self.recovery.what} {self.path_args[-1]} was committed by an earlier "
                "attempt whose answer was lost, but could not be read back now: read it "
                "back later; do not commit it again",
                maybe_processed=True,
            ) from cause
        return await self._result(current)

    async def _result(self, current: Any) -> Any:
        """The object the commit returns: the one read back, or a remembered recalculation."""
        self.found = True
        if not self.recovery.remembered:
            return current
        recalculation = self.client.memory.pop(self.path_args[1])
        if recalculation is None:
            raise RecoveryError(
                f"invoice recalculation {self.path_args[1]} was committed by an earlier "
                f"attempt whose answer was lost (invoice {self.path_args[0]} is now "
                f"{clip(str(current.status), MAX_ID)}); the API cannot read a recalculation "
                "back and this client did not create it: read the invoice back; do not "
                "commit again",
                maybe_processed=True,
            )
        return recalculation


# Answers that settle whether an earlier ambiguous attempt acted: they keep their own
# ``maybe_processed``.
_SETTLING = (RecoveryError, CommitExpiredError)


def _expired(error: UnprocessableEntityError) -> bool:
    """The server's answer to a commit after the 30-second window (body not published)."""
    codes = {error.code, *(detail.code for detail in error.details)}
    return "expired" in codes
