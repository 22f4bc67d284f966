"""``CallbackSweeper`` hands each state no callback brought, once, sharing that with callbacks."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import anyio
import pytest

from cryptopay_async import AsyncCryptopay
from cryptopay_async.callbacks import (
    Callback,
    CallbackReceiver,
    CallbackSweeper,
    ChannelPaymentCallback,
    CoinWithdrawalCallback,
    Deduplicator,
    FileCheckpoint,
    InvoiceCallback,
    MemoryDeliveryStore,
    RedisCheckpoint,
    RedisDeliveryStore,
    SweepReport,
    UnknownCallback,
    signature_for,
    state_key,
)
from cryptopay_async.ratelimit import TokenBucket
from cryptopay_async.testing import CryptopayEmulator

pytestmark = pytest.mark.anyio


def ident(event: Callback) -> str:
    assert not isinstance(event, UnknownCallback)
    return event.data.id


class Recorder:
    """A handler that records each state it was handed (and can be told to fail)."""

    def __init__(self) -> None:
        self.handled: list[Callback] = []
        self.failing: set[str] = set()

    async def __call__(self, event: Callback) -> None:
        if ident(event) in self.failing:
            raise RuntimeError("database down")
        self.handled.append(event)

    def states(self) -> Counter[str]:
        return Counter(state_key(event) for event in self.handled)


async def world(emulator: CryptopayEmulator, client: AsyncCryptopay) -> dict[str, str]:
    """Invoices of every fate, a paid and a failed payout, a channel payment; id -> fate."""
    fates: dict[str, str] = {}
    for fate in ("exact", "under", "over", "unpaid"):
        invoice = await client.invoices.create(
            price_amount="10", price_currency="EUR", pay_currency="BTC"
        )
        fates[invoice.id] = fate
        if fate != "unpaid":
            due = invoice.pay_amount
            paid = {"exact": due, "under": due / 2, "over": due * 2}[fate]
            emulator.pay_invoice(invoice.id, paid)
    for fate in ("completed", "failed"):
        payout = await client.coin_withdrawals.create(
            address="bc1qexample",
            charged_currency="EUR",
            received_currency="BTC",
            charged_amount="5",
            force_commit=True,
        )
        fates[payout.id] = fate
        (emulator.complete_withdrawal if fate == "completed" else emulator.fail_withdrawal)(
            payout.id
        )
    channel = await client.channels.create(
        name="deposits", pay_currency="BTC", receiver_currency="EUR"
    )
    payment = emulator.pay_channel(channel.id, "0.001")
    fates[payment["id"]] = "channel payment"
    return fates


@pytest.fixture
async def emulated() -> AsyncIterator[tuple[CryptopayEmulator, AsyncCryptopay]]:
    emulator = CryptopayEmulator(rate_limit=100_000)  # no callback URL: every callback lost
    async with emulator.client(rate_limiter=TokenBucket(10_000, 60.0)) as client:
        yield emulator, client


def sweeper_for(
    client: AsyncCryptopay, handler: Recorder, dedupe: Deduplicator, **options: object
) -> CallbackSweeper:
    return CallbackSweeper(client, handler, deduplicator=dedupe, share=0.5, **options)  # type: ignore[arg-type]


async def test_a_sweep_hands_every_state_once_and_a_second_sweep_nothing(
    emulated: tuple[CryptopayEmulator, AsyncCryptopay],
) -> None:
    emulator, client = emulated
    fates = await world(emulator, client)
    handler = Recorder()
    sweeper = sweeper_for(client, handler, Deduplicator())
    report = await sweeper.run_once()
    assert report.complete
    assert {ident(event) for event in report.events} == set(fates)
    assert report.events == handler.handled
    assert report.checked == len(fates)
    statuses = {ident(e): str(getattr(e.data, "status", "")) for e in handler.handled}
    assert statuses == {
        object_id: {
            "exact": "completed",
            "under": "unresolved",
            "over": "unresolved",
            "unpaid": "new",
            "completed": "completed",
            "failed": "failed",
            "channel payment": "completed",
        }[fate]
        for object_id, fate in fates.items()
    }
    kinds = Counter(type(event).__name__ for event in handler.handled)
    assert kinds == {"InvoiceCallback": 4, "CoinWithdrawalCallback": 2, "ChannelPaymentCallback": 1}
    again = await sweeper.run_once()
    assert (again.complete, again.events, again.checked) == (True, [], len(fates))
    # ledger, invoices, payouts, subscriptions, channels, one channel's payments: one page each
    assert report.requests == again.requests == 6


async def test_callbacks_and_sweeps_never_hand_one_state_twice(
    emulated: tuple[CryptopayEmulator, AsyncCryptopay],
) -> None:
    emulator, client = emulated
    invoice = await client.invoices.create(
        price_amount="10", price_currency="EUR", pay_currency="BTC"
    )
    handler = Recorder()
    dedupe = Deduplicator()
    receiver = CallbackReceiver(handler, secret=emulator.callback_secret, deduplicator=dedupe)
    body = json.dumps(
        {
            "type": "Invoice",
            "event": "created",
            "data": emulator.api.objects["invoices"][invoice.id],
        }
    ).encode()
    assert (
        await receiver.receive(body, signature_for(body, emulator.callback_secret))
    ).text == "ok"
    sweeper = sweeper_for(client, handler, dedupe)
    assert (await sweeper.run_once()).events == []  # the callback handled this state

    emulator.pay_invoice(invoice.id)  # its callbacks are lost; the sweep finds "completed"
    [swept] = (await sweeper.run_once()).events
    assert isinstance(swept, InvoiceCallback)
    assert swept.data.status == "completed"
    late = json.dumps(
        {
            "type": "Invoice",
            "event": "status_changed",
            "data": emulator.api.objects["invoices"][invoice.id],
        }
    ).encode()
    outcome = await receiver.receive(late, signature_for(late, emulator.callback_secret))
    assert (outcome.status, outcome.text) == (200, "duplicate")  # handler not called again
    assert [str(getattr(e.data, "status", "")) for e in handler.handled] == ["new", "completed"]


async def test_a_handler_that_raised_is_tried_again_by_the_next_sweep(
    emulated: tuple[CryptopayEmulator, AsyncCryptopay],
) -> None:
    emulator, client = emulated
    fates = await world(emulator, client)
    handler = Recorder()
    failing = next(i for i, fate in fates.items() if fate == "completed")
    handler.failing.add(failing)
    sweeper = sweeper_for(client, handler, Deduplicator())
    first = await sweeper.run_once()
    assert [ident(event) for event in first.failed] == [failing]
    assert isinstance(first.failed[0], CoinWithdrawalCallback)
    handler.failing.clear()
    second = await sweeper.run_once()
    assert [ident(event) for event in second.events] == [failing]
    assert max(handler.states().values()) == 1


@pytest.mark.parametrize("budget", [1, 2, 3, 5])
async def test_a_budgeted_sweep_stops_and_continues_where_it_stopped(
    emulated: tuple[CryptopayEmulator, AsyncCryptopay], tmp_path: Path, budget: int
) -> None:
    emulator, client = emulated
    for _ in range(3):  # three list pages of invoices: 150 of them
        for _ in range(50):
            invoice = await client.invoices.create(
                price_amount="10", price_currency="EUR", pay_currency="BTC"
            )
            emulator.pay_invoice(invoice.id)
    handler = Recorder()
    reports: list[SweepReport] = []
    dedupe = Deduplicator()
    while not (reports and reports[-1].complete):
        # A new sweeper each time, as after a restart: only the checkpoint carries on.
        sweeper = sweeper_for(
            client, handler, dedupe, checkpoint=FileCheckpoint(tmp_path / "sweep.json")
        )
        reports.append(await sweeper.run_once(max_requests=budget))
        assert len(reports) < 50
    assert all(report.requests <= budget for report in reports)
    assert sum(report.requests for report in reports) == 9  # ledger 3, invoices 3, others 3
    assert len(handler.handled) == 150
    assert set(handler.states().values()) == {1}
    assert json.loads((tmp_path / "sweep.json").read_text())["sweep"] is None
    assert os.listdir(tmp_path) == ["sweep.json"]  # no temporary file left


async def test_the_sweep_uses_its_share_of_the_clients_limiter(
    emulated: tuple[CryptopayEmulator, AsyncCryptopay],
) -> None:
    client = emulated[1]
    sweeper = CallbackSweeper(client, Recorder(), share=0.1)
    assert sweeper.max_requests == 1_000  # a tenth of 10,000 a minute
    assert sweeper.budget_for(every=300.0) == 5_000
    async with AsyncCryptopay(
        api_key="k", api_secret="s", rate_limiter=TokenBucket(200, 60.0)
    ) as capped:
        assert CallbackSweeper(capped, Recorder(), share=0.1).budget_for(every=300.0) == 100


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"share": 0}, "share must be a fraction"),
        ({"share": 1.5}, "share must be a fraction"),
        ({"horizon": timedelta(0)}, "horizon must be a positive timedelta"),
        ({"max_requests": 0}, "max_requests must be a positive int"),
        (
            {"deduplicator": Deduplicator(MemoryDeliveryStore(ttl=3600))},
            "the store forgets a handled state after 3600 s",
        ),
    ],
)
async def test_bad_settings_are_refused(
    emulated: tuple[CryptopayEmulator, AsyncCryptopay], options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        CallbackSweeper(emulated[1], Recorder(), **options)  # type: ignore[arg-type]


async def test_sweepers_running_at_once_hand_each_state_once(
    emulated: tuple[CryptopayEmulator, AsyncCryptopay],
) -> None:
    emulator, client = emulated
    fates = await world(emulator, client)
    handler = Recorder()
    store = MemoryDeliveryStore()
    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(sweeper_for(client, handler, Deduplicator(store)).run_once)
    assert sorted(ident(event) for event in handler.handled) == sorted(fates)


async def test_redis_store_and_checkpoint_carry_over_to_a_new_process(
    emulated: tuple[CryptopayEmulator, AsyncCryptopay], redis_url: str
) -> None:
    emulator, client = emulated
    fates = await world(emulator, client)
    prefix = f"sweep-test-{id(emulated)}:"
    handler = Recorder()

    def fresh() -> CallbackSweeper:
        store = RedisDeliveryStore(redis_url, prefix=prefix)
        checkpoint = RedisCheckpoint(redis_url, "account", prefix=prefix)
        return sweeper_for(client, handler, Deduplicator(store), checkpoint=checkpoint)

    first = await fresh().run_once(max_requests=3)
    assert not first.complete
    while not (await fresh().run_once(max_requests=3)).complete:
        pass
    assert sorted(ident(event) for event in handler.handled) == sorted(fates)
    assert (await fresh().run_once()).events == []
    assert isinstance(handler.handled[-1], ChannelPaymentCallback)
