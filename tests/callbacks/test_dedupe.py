from __future__ import annotations

import json

import anyio
import pytest

from cryptopay_async.callbacks import (
    Callback,
    CallbackReceiver,
    Deduplicator,
    DeliveryStore,
    InvoiceCallback,
    LeasingStore,
    MemoryDeliveryStore,
    Verdict,
    delivery_key,
    signature_for,
    state_key,
    verify,
)
from tests.support import CALLBACK_SECRET, fixture_bytes

pytestmark = pytest.mark.anyio

BODY = fixture_bytes("callbacks/invoice-transaction-created.json")
SIGNATURE = signature_for(BODY, CALLBACK_SECRET)


def signed(document: dict[str, object]) -> tuple[bytes, str]:
    body = json.dumps(document).encode()
    return body, signature_for(body, CALLBACK_SECRET)


async def test_memory_store_remembers_forgets_and_stays_bounded() -> None:
    store = MemoryDeliveryStore(max_entries=3)
    assert isinstance(store, DeliveryStore)
    assert [await store.add(k) for k in "abca"] == [True, True, True, False]
    await store.discard("a")
    assert await store.add("a") is True
    for key in "defg":
        await store.add(key)
    assert len(store) == 3  # the oldest keys made room
    assert await store.add("b") is True


async def test_memory_store_expires_keys_after_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("cryptopay_async.callbacks._dedupe.time.monotonic", lambda: now[0])
    store = MemoryDeliveryStore(ttl=60)
    assert await store.add("k") is True
    now[0] += 59
    assert await store.add("k") is False
    now[0] += 2
    assert await store.add("k") is True


def test_the_key_tells_a_repeat_from_a_second_payment() -> None:
    first = verify(BODY, SIGNATURE, secret=CALLBACK_SECRET)
    reordered = json.loads(BODY)
    body, signature = signed(
        {"data": reordered["data"], "event": reordered["event"], "type": "Invoice"}
    )
    assert delivery_key(verify(body, signature, secret=CALLBACK_SECRET)) == delivery_key(first)
    second_payment = json.loads(BODY)
    second_payment["data"]["transactions"].append({"txid": "another", "risk": None})
    body, signature = signed(second_payment)
    assert delivery_key(verify(body, signature, secret=CALLBACK_SECRET)) != delivery_key(first)


async def test_receiver_runs_the_handler_once_per_event_and_retries_failures() -> None:
    handled: list[Callback] = []
    fail = [True]

    async def handler(event: Callback) -> None:
        if fail[0]:
            fail[0] = False
            raise RuntimeError("database down")
        handled.append(event)

    receiver = CallbackReceiver(handler, secret=CALLBACK_SECRET, deduplicator=Deduplicator())
    outcomes = [await receiver.receive(BODY, SIGNATURE) for _ in range(4)]
    assert [o.status for o in outcomes] == [500, 200, 200, 200]
    assert [o.text for o in outcomes] == ["handler failed", "ok", "duplicate", "duplicate"]
    assert len(handled) == 1
    assert (await receiver.receive(BODY, "0" * 64)).status == 400
    assert (
        await receiver.receive(b"{not json", signature_for(b"{not json", CALLBACK_SECRET))
    ).status == 400


async def test_receiver_reads_the_secret_from_a_callable_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def handler(event: Callback) -> None:
        return None

    assert (
        await CallbackReceiver(handler, secret=lambda: CALLBACK_SECRET).receive(BODY, SIGNATURE)
    ).status == 200
    monkeypatch.setenv("CRYPTOPAY_CALLBACK_SECRET", CALLBACK_SECRET)
    assert (await CallbackReceiver(handler).receive(BODY, SIGNATURE)).status == 200
    monkeypatch.delenv("CRYPTOPAY_CALLBACK_SECRET")
    with pytest.raises(ValueError, match="CRYPTOPAY_CALLBACK_SECRET"):
        await CallbackReceiver(handler).receive(BODY, SIGNATURE)


async def test_a_claim_lapses_after_its_lease_unless_settled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr("cryptopay_async.callbacks._dedupe.time.monotonic", lambda: now[0])
    store = MemoryDeliveryStore(ttl=3600)
    assert isinstance(store, LeasingStore)
    assert await store.claim("killed", lease=10) is Verdict.NEW
    assert await store.claim("done", lease=10) is Verdict.NEW
    await store.settle("done")
    assert (await store.add("killed"), await store.add("done")) == (False, False)
    now[0] += 11  # the process holding "killed" died mid-handler: its lease ran out
    assert await store.claim("killed", lease=10) is Verdict.NEW
    assert await store.add("done") is False


async def test_a_renewed_claim_stays_in_progress_and_a_settled_one_is_handled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr("cryptopay_async.callbacks._dedupe.time.monotonic", lambda: now[0])
    store = MemoryDeliveryStore(ttl=3600)
    assert await store.claim("slow", lease=10) is Verdict.NEW
    for _ in range(5):  # a handler running for 45 s renews every few seconds
        now[0] += 9
        assert await store.renew("slow", lease=10)
        assert await store.claim("slow", lease=10) is Verdict.IN_PROGRESS
    await store.settle("slow")
    now[0] += 100
    assert await store.claim("slow", lease=10) is Verdict.HANDLED
    assert not await store.renew("never-claimed", lease=10)  # renewing claims nothing
    assert await store.claim("never-claimed", lease=10) is Verdict.NEW


class CountingRenewals(MemoryDeliveryStore):
    """A memory store that tells when its claims were renewed."""

    def __init__(self) -> None:
        super().__init__()
        self.renewals = 0
        self.renewed = anyio.Event()

    async def renew(self, key: str, lease: float) -> bool:
        held = await super().renew(key, lease)
        self.renewals += held
        if self.renewals >= 3:
            self.renewed.set()
        return held


async def test_hold_renews_the_claim_while_the_handler_runs() -> None:
    store = CountingRenewals()
    dedupe = Deduplicator(store, lease=1.5)
    event = verify(BODY, SIGNATURE, secret=CALLBACK_SECRET)
    assert await dedupe.claim(event) is Verdict.NEW

    async def slow_handler() -> None:
        with anyio.fail_after(30):
            await store.renewed.wait()  # outlives its lease, still claimed
        assert await dedupe.claim(event) is Verdict.IN_PROGRESS

    await dedupe.hold(event, slow_handler)
    await dedupe.handled(event)
    renewals = store.renewals
    await anyio.sleep(1.0)  # two renewal periods
    assert store.renewals == renewals  # renewals stop with the handler
    assert await dedupe.claim(event) is Verdict.HANDLED


async def test_hold_raises_the_handlers_own_exception() -> None:
    dedupe = Deduplicator()
    event = verify(BODY, SIGNATURE, secret=CALLBACK_SECRET)

    async def failing() -> None:
        raise LookupError("no such order")

    with pytest.raises(LookupError, match="no such order"):
        await dedupe.hold(event, failing)


async def test_receiver_answers_409_while_another_handler_of_the_state_runs() -> None:
    inside, release = anyio.Event(), anyio.Event()
    calls: list[Callback] = []

    async def handler(event: Callback) -> None:
        calls.append(event)
        inside.set()
        await release.wait()

    receiver = CallbackReceiver(handler, secret=CALLBACK_SECRET, deduplicator=Deduplicator())
    outcomes = []

    async def deliver() -> None:
        outcomes.append(await receiver.receive(BODY, SIGNATURE))

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(deliver)
            await inside.wait()
            repeat = await receiver.receive(BODY, SIGNATURE)  # Cryptopay delivers it again
            release.set()
    assert (repeat.status, repeat.text) == (409, "in progress")
    assert [(o.status, o.text) for o in outcomes] == [(200, "ok")]
    assert (await receiver.receive(BODY, SIGNATURE)).text == "duplicate"
    assert len(calls) == 1


class AddOnly:
    """A user's store with ``add`` and ``discard`` only: nothing is ever in progress."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    async def add(self, key: str) -> bool:
        new = key not in self.keys
        self.keys.add(key)
        return new

    async def discard(self, key: str) -> None:
        self.keys.discard(key)


async def test_a_plain_store_keeps_a_claim_at_once() -> None:
    store = AddOnly()
    assert not isinstance(store, LeasingStore)
    dedupe = Deduplicator(store)
    event = verify(BODY, SIGNATURE, secret=CALLBACK_SECRET)
    assert [await dedupe.claim(event), await dedupe.claim(event)] == [
        Verdict.NEW,
        Verdict.HANDLED,
    ]


def test_the_state_key_is_the_same_for_a_callback_and_a_read_back() -> None:
    payment_seen = verify(BODY, SIGNATURE, secret=CALLBACK_SECRET)  # transaction_created
    document = json.loads(BODY)
    assert isinstance(payment_seen, InvoiceCallback)
    read_back = InvoiceCallback(event="status_changed", data=payment_seen.data)
    assert state_key(read_back) != state_key(payment_seen)  # a payment on its way
    refunded, signature = signed({**document, "event": "refunded"})
    assert state_key(read_back) == state_key(verify(refunded, signature, secret=CALLBACK_SECRET))
    paid_more = {**document, "data": {**document["data"], "paid_amount": "1.5"}}
    body, signature = signed(paid_more)
    assert state_key(verify(body, signature, secret=CALLBACK_SECRET)) != state_key(read_back)
