"""Creates with a custom_id and two-step commits settle ambiguous failures by themselves.

The emulator behind a scripted transport processes a request and then loses its answer
(read timeout, dropped connection, 500), or loses the request before processing it; the
SDK must return the one object that exists, create nothing twice, and move money once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from cryptopay_async import (
    APIConnectionError,
    APITimeoutError,
    CommitExpiredError,
    ConflictError,
    CryptopayError,
    CustomIdMismatchError,
    RecoveryError,
    RetryPolicy,
    ServerError,
    UnprocessableEntityError,
)
from cryptopay_async._client import AsyncCryptopay
from cryptopay_async.resources import OPERATIONS, Operation
from cryptopay_async.resources._recovery import CommitRecovery, CreateRecovery
from cryptopay_async.testing import CryptopayEmulator
from tests.scripted_faults import Rule, scripted_client

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(initial_backoff=0.0)
AFTER = ["timeout-after", "drop-after", "500-after"]

Create = Callable[[AsyncCryptopay, str], Awaitable[Any]]


async def create_invoice(client: AsyncCryptopay, custom_id: str) -> Any:
    return await client.invoices.create(
        price_amount="10.00", price_currency="EUR", pay_currency="BTC", custom_id=custom_id
    )


async def create_withdrawal(
    client: AsyncCryptopay, custom_id: str, *, force_commit: bool = True
) -> Any:
    return await client.coin_withdrawals.create(
        address="bc1qexample",
        charged_currency="EUR",
        received_currency="BTC",
        charged_amount="50",
        force_commit=force_commit,
        custom_id=custom_id,
    )


async def create_channel(client: AsyncCryptopay, custom_id: str) -> Any:
    return await client.channels.create(
        name="deposits", pay_currency="BTC", receiver_currency="EUR", custom_id=custom_id
    )


async def create_subscription(client: AsyncCryptopay, custom_id: str) -> Any:
    return await client.subscriptions.create(
        name="plan",
        amount="9.99",
        currency="EUR",
        period="month",
        period_quantity=1,
        starts_at=datetime.now(UTC) + timedelta(days=4),
        payer_email="payer@example.com",
        custom_id=custom_id,
    )


CREATES: list[tuple[str, str, Create]] = [
    ("invoices", "/api/invoices", create_invoice),
    ("coin_withdrawals", "/api/coin_withdrawals", create_withdrawal),
    ("channels", "/api/channels", create_channel),
    ("subscriptions", "/api/subscriptions", create_subscription),
]


def stored(emulator: CryptopayEmulator, kind: str, custom_id: str) -> list[dict[str, Any]]:
    return [o for o in emulator.api.objects[kind].values() if o.get("custom_id") == custom_id]


@pytest.mark.parametrize(("kind", "path", "create"), CREATES, ids=[c[0] for c in CREATES])
@pytest.mark.parametrize("fault", AFTER)
async def test_answer_lost_after_processing_returns_the_object_read_back(
    kind: str, path: str, create: Create, fault: str
) -> None:
    emulator = CryptopayEmulator()
    rules = [Rule("POST", path, [fault])]
    async with scripted_client(emulator, rules, retry_policy=FAST) as (client, faults):
        result = await create(client, "ORDER-1")
    assert result.custom_id == "ORDER-1"
    assert [o["id"] for o in stored(emulator, kind, "ORDER-1")] == [result.id]
    assert faults.attempts("POST", path) == [fault]  # read back, not sent again
    assert len(faults.attempts("GET", f"{path}/custom_id/ORDER-1")) == 1
    assert len(emulator.ledger_for("ORDER-1")) == (1 if kind == "coin_withdrawals" else 0)


@pytest.mark.parametrize(("kind", "path", "create"), CREATES, ids=[c[0] for c in CREATES])
async def test_request_lost_before_processing_is_sent_again(
    kind: str, path: str, create: Create
) -> None:
    emulator = CryptopayEmulator()
    rules = [Rule("POST", path, ["502-before"])]
    async with scripted_client(emulator, rules, retry_policy=FAST) as (client, faults):
        result = await create(client, "ORDER-2")
    assert [o["id"] for o in stored(emulator, kind, "ORDER-2")] == [result.id]
    assert faults.attempts("POST", path) == ["502-before", "ok"]


async def test_repeat_refused_with_409_reads_back_the_earlier_one() -> None:
    """The first answer is lost, the read-back does not see it yet, the repeat gets 409."""
    emulator = CryptopayEmulator()
    rules = [
        Rule("POST", "/api/invoices", ["timeout-after"]),
        Rule("GET", "/api/invoices/custom_id/.*", ["404-before"]),
    ]
    async with scripted_client(emulator, rules, retry_policy=FAST) as (client, faults):
        invoice = await create_invoice(client, "ORDER-3")
    assert [o["id"] for o in stored(emulator, "invoices", "ORDER-3")] == [invoice.id]
    assert faults.attempts("POST", "/api/invoices") == ["timeout-after", "ok"]
    assert emulator.errors_answered.get(409) == 1


async def test_conflict_on_the_first_attempt_stays_a_conflict_naming_the_custom_id() -> None:
    emulator = CryptopayEmulator()
    async with scripted_client(emulator, [], retry_policy=FAST) as (client, _):
        await create_invoice(client, "ORDER-4")
        with pytest.raises(ConflictError, match="custom_id 'ORDER-4' was used before") as info:
            await create_invoice(client, "ORDER-4")
    assert info.value.maybe_processed is False
    assert "retrieve_by_custom_id" in str(info.value)


@pytest.mark.parametrize("first", ["502-before", "timeout-after"])
async def test_an_object_that_differs_from_the_request_is_refused(first: str) -> None:
    """Someone else's invoice holds the custom_id: never returned as this call's."""
    emulator = CryptopayEmulator()
    rules = [Rule("POST", "/api/invoices", ["ok", first])]
    async with scripted_client(emulator, rules, retry_policy=FAST) as (client, _):
        other = await client.invoices.create(
            price_amount="25", price_currency="EUR", pay_currency="BTC", custom_id="ORDER-5"
        )
        with pytest.raises(CustomIdMismatchError) as info:
            await create_invoice(client, "ORDER-5")
    error = info.value
    assert error.custom_id == "ORDER-5"
    assert error.found.id == other.id
    assert error.differences == {"price_amount": ("10.00", Decimal("25"))}
    assert "price_amount: asked 10.00, found 25" in str(error)
    assert len(stored(emulator, "invoices", "ORDER-5")) == 1


async def test_gives_up_after_max_retries_with_an_error_that_says_what_to_do() -> None:
    emulator = CryptopayEmulator()
    rules = [Rule("POST", "/api/invoices", ["502-before"] * 10)]
    policy = RetryPolicy(initial_backoff=0.0, max_retries=3)
    async with scripted_client(emulator, rules, retry_policy=policy, max_retries=3) as (
        client,
        faults,
    ):
        with pytest.raises(ServerError) as info:
            await create_invoice(client, "ORDER-6")
    assert faults.attempts("POST", "/api/invoices") == ["502-before"] * 4
    assert info.value.maybe_processed is True
    message = str(info.value)
    assert "still unsettled after 4 attempt(s)" in message
    assert "custom_id 'ORDER-6'" in message
    assert stored(emulator, "invoices", "ORDER-6") == []


async def test_no_attempt_starts_after_the_deadline() -> None:
    emulator = CryptopayEmulator()
    rules = [Rule("POST", "/api/invoices", ["502-before"] * 10)]
    policy = RetryPolicy(initial_backoff=0.0, recovery_deadline=0.0)
    async with scripted_client(emulator, rules, retry_policy=policy) as (client, faults):
        with pytest.raises(ServerError, match="still unsettled after 1 attempt"):
            await create_invoice(client, "ORDER-7")
    assert faults.attempts("POST", "/api/invoices") == ["502-before"]


async def test_without_custom_id_nothing_is_repeated_and_the_error_says_why() -> None:
    emulator = CryptopayEmulator()
    rules = [Rule("POST", "/api/invoices", ["timeout-after"])]
    async with scripted_client(emulator, rules, retry_policy=FAST) as (client, faults):
        with pytest.raises(APITimeoutError) as info:
            await client.invoices.create(
                price_amount="10", price_currency="EUR", pay_currency="BTC"
            )
    assert info.value.maybe_processed is True
    assert "pass custom_id to make such a call retry-safe" in str(info.value)
    assert faults.attempts("POST", "/api/invoices") == ["timeout-after"]
    assert len(emulator.api.objects["invoices"]) == 1  # it was created: the error says so


@pytest.mark.parametrize("force_commit", [True, False])
async def test_exchange_transfer_created_once_without_a_read_back_by_custom_id(
    force_commit: bool,
) -> None:
    emulator = CryptopayEmulator()
    rules = [Rule("POST", "/api/exchange_transfers", ["drop-after"])]
    async with scripted_client(emulator, rules, retry_policy=FAST) as (client, _):
        call = client.exchange_transfers.create(
            charged_currency="EUR",
            received_currency="BTC",
            charged_amount="100",
            force_commit=force_commit,
            custom_id="SWAP-1",
        )
        if force_commit:  # executed: its ledger rows lead back to it
            transfer = await call
            assert transfer.custom_id == "SWAP-1"
        else:  # invisible until committed, and never committed: nothing moved
            with pytest.raises(RecoveryError, match="nothing was moved") as info:
                await call
            assert info.value.maybe_processed is False
    assert len(stored(emulator, "exchange_transfers", "SWAP-1")) == 1
    assert len(emulator.ledger_for("SWAP-1")) == (2 if force_commit else 0)


# ---- two-step commits ------------------------------------------------------------------


async def two_step_withdrawal(client: AsyncCryptopay, custom_id: str) -> Any:
    return await create_withdrawal(client, custom_id, force_commit=False)


@pytest.mark.parametrize("fault", [*AFTER, "502-before"])
async def test_withdrawal_commit_moves_money_once(fault: str) -> None:
    emulator = CryptopayEmulator()
    rules = [Rule("POST", "/api/coin_withdrawals/.*/commit", [fault])]
    async with scripted_client(emulator, rules, retry_policy=FAST) as (client, faults):
        withdrawal = await two_step_withdrawal(client, "PAYOUT-1")
        committed = await client.coin_withdrawals.commit(withdrawal.id)
    assert (committed.id, str(committed.status)) == (withdrawal.id, "pending")
    assert [e.action for e in emulator.ledger_for("PAYOUT-1")] == ["coin_withdrawal_sent"]
    sent_again = ["502-before", "ok"] if fault == "502-before" else [fault]
    assert faults.attempts("POST", "/api/coin_withdrawals/.*/commit") == sent_again


async def test_exchange_transfer_commit_repeat_refused_reads_back() -> None:
    emulator = CryptopayEmulator()
    rules = [Rule("POST", "/api/exchange_transfers/.*/commit", ["timeout-after"])]
    async with scripted_client(emulator, rules, retry_policy=FAST) as (client, faults):
        transfer = await client.exchange_transfers.create(
            charged_currency="EUR", received_currency="BTC", charged_amount="100",
            custom_id="SWAP-2",
        )  # fmt: skip
        committed = await client.exchange_transfers.commit(transfer.id)
    assert committed.id == transfer.id
    assert len(emulator.ledger_for("SWAP-2")) == 2  # one debit, one credit: once
    assert faults.attempts("POST", "/api/exchange_transfers/.*/commit") == ["timeout-after", "ok"]
    assert emulator.errors_answered.get(409) == 1


async def unresolved_invoice(client: AsyncCryptopay, emulator: CryptopayEmulator) -> str:
    invoice = await create_invoice(client, "ORDER-R")
    emulator.pay_invoice(invoice.id, Decimal(str(invoice.pay_amount)) / 2)
    return str(invoice.id)


@pytest.mark.parametrize("fault", AFTER)
async def test_recalculation_commit_returns_the_recalculation_once(fault: str) -> None:
    emulator = CryptopayEmulator()
    rules = [Rule("POST", "/api/invoices/.*/recalculations/.*/commit", [fault])]
    async with scripted_client(emulator, rules, retry_policy=FAST) as (client, _):
        invoice_id = await unresolved_invoice(client, emulator)
        recalculation = await client.invoices.create_recalculation(invoice_id)
        committed = await client.invoices.commit_recalculation(invoice_id, recalculation.id)
        invoice = await client.invoices.retrieve(invoice_id)
    assert committed.id == recalculation.id
    assert str(invoice.status) == "completed"
    credits = [e for e in emulator.ledger_for("ORDER-R") if e.amount > 0]
    assert len(credits) == 1


def expire_commit_windows(emulator: CryptopayEmulator) -> None:
    emulator.advance_clock(31)


@pytest.mark.parametrize("first", ["ok", "502-before"])
async def test_expired_commit_says_nothing_was_moved(first: str) -> None:
    emulator = CryptopayEmulator()
    rules = [Rule("POST", "/api/coin_withdrawals/.*/commit", [first])]
    async with scripted_client(emulator, rules, retry_policy=FAST) as (client, _):
        withdrawal = await two_step_withdrawal(client, "PAYOUT-2")
        expire_commit_windows(emulator)
        with pytest.raises(CommitExpiredError, match="nothing was moved") as info:
            await client.coin_withdrawals.commit(withdrawal.id)
    assert isinstance(info.value, UnprocessableEntityError)
    assert info.value.maybe_processed is False
    assert emulator.ledger_for("PAYOUT-2") == []


async def test_second_commit_by_the_caller_stays_a_conflict() -> None:
    emulator = CryptopayEmulator()
    async with scripted_client(emulator, [], retry_policy=FAST) as (client, _):
        withdrawal = await two_step_withdrawal(client, "PAYOUT-3")
        await client.coin_withdrawals.commit(withdrawal.id)
        with pytest.raises(ConflictError, match="it was committed before"):
            await client.coin_withdrawals.commit(withdrawal.id)
    assert len(emulator.ledger_for("PAYOUT-3")) == 1


async def test_commit_gives_up_with_an_error_that_says_check_before_committing() -> None:
    emulator = CryptopayEmulator()
    rules = [Rule("POST", "/api/coin_withdrawals/.*/commit", ["502-before"] * 5)]
    async with scripted_client(emulator, rules, retry_policy=FAST) as (client, faults):
        withdrawal = await two_step_withdrawal(client, "PAYOUT-4")
        with pytest.raises(CryptopayError) as info:
            await client.coin_withdrawals.commit(withdrawal.id)
    assert info.value.maybe_processed is True
    assert "read it back and check before committing again" in str(info.value)
    assert len(faults.attempts("POST", "/api/coin_withdrawals/.*/commit")) == 3
    assert emulator.ledger_for("PAYOUT-4") == []


async def test_a_request_never_sent_is_not_ambiguous() -> None:
    """A connect timeout is retried by the chain for any method; no read-back needed."""
    emulator = CryptopayEmulator()
    rules = [Rule("POST", "/api/invoices", ["timeout-before"] * 5)]
    async with scripted_client(emulator, rules, retry_policy=FAST) as (client, faults):
        with pytest.raises(APIConnectionError) as info:
            await create_invoice(client, "ORDER-8")
    assert info.value.maybe_processed is False
    assert faults.attempts("GET", "/api/invoices/custom_id/.*") == []


def leave_balance_for_one(emulator: CryptopayEmulator, currency: str, amount: str) -> None:
    emulator.api.store.accounts[currency]["balance"] = amount


async def test_repeat_refused_for_another_reason_after_the_first_landed_returns_it() -> None:
    """The first payout lands and uses the balance; its read-back lags (404), so the
    repeat is refused with 422 (not enough balance) before the custom_id is checked: that
    refusal is no proof nothing was moved, so the SDK reads back again instead."""
    emulator = CryptopayEmulator()
    leave_balance_for_one(emulator, "EUR", "60")
    rules = [
        Rule("POST", "/api/coin_withdrawals", ["timeout-after"]),
        Rule("GET", "/api/coin_withdrawals/custom_id/.*", ["404-before"]),
    ]
    async with scripted_client(emulator, rules, retry_policy=FAST) as (client, faults):
        withdrawal = await create_withdrawal(client, "PAYOUT-LAG")
    assert [o["id"] for o in stored(emulator, "coin_withdrawals", "PAYOUT-LAG")] == [withdrawal.id]
    assert faults.attempts("POST", "/api/coin_withdrawals") == ["timeout-after", "ok"]
    assert len(emulator.ledger_for("PAYOUT-LAG")) == 1


async def test_repeat_refused_while_the_read_back_still_lags_says_it_may_exist() -> None:
    """Never ``maybe_processed=False`` after an attempt that may have moved money."""
    emulator = CryptopayEmulator()
    leave_balance_for_one(emulator, "EUR", "60")
    rules = [
        Rule("POST", "/api/coin_withdrawals", ["timeout-after"]),
        Rule("GET", "/api/coin_withdrawals/custom_id/.*", ["404-before"] * 10),
    ]
    async with scripted_client(emulator, rules, retry_policy=FAST) as (client, _):
        with pytest.raises(UnprocessableEntityError) as info:
            await create_withdrawal(client, "PAYOUT-LAG2")
    assert info.value.maybe_processed is True
    assert "custom_id 'PAYOUT-LAG2'" in str(info.value)
    assert len(emulator.ledger_for("PAYOUT-LAG2")) == 1


async def test_a_read_back_that_fails_for_good_after_an_ambiguous_create_stays_ambiguous() -> None:
    """A 403 on the read-back (say a key without read rights) must not end recovery with
    an error claiming the create certainly did not act."""
    emulator = CryptopayEmulator()
    rules = [
        Rule("POST", "/api/invoices", ["timeout-after"]),
        Rule("GET", "/api/invoices/custom_id/.*", ["403-before"]),
    ]
    async with scripted_client(emulator, rules, retry_policy=FAST) as (client, faults):
        with pytest.raises(CryptopayError) as info:
            await create_invoice(client, "ORDER-403")
    assert info.value.maybe_processed is True
    assert "custom_id 'ORDER-403'" in str(info.value)
    assert faults.attempts("POST", "/api/invoices") == ["timeout-after"]


async def test_commit_read_back_unreachable_when_the_repeat_finds_it_expired() -> None:
    """The first commit lands (answer lost); the repeat is answered 'expired' and the
    read-back fails: "nothing was moved" would be a guess, so it is not said."""
    emulator = CryptopayEmulator()
    rules = [
        Rule("POST", "/api/coin_withdrawals/.*/commit", ["timeout-after", "422-expired-before"]),
        Rule("GET", "/api/coin_withdrawals/[^/]*", ["502-before"] * 20),
    ]
    async with scripted_client(emulator, rules, retry_policy=FAST) as (client, _):
        withdrawal = await two_step_withdrawal(client, "PAYOUT-EXP")
        with pytest.raises(CryptopayError) as info:
            await client.coin_withdrawals.commit(withdrawal.id)
    assert not isinstance(info.value, CommitExpiredError)
    assert info.value.maybe_processed is True
    assert "nothing was moved" not in str(info.value)
    assert len(emulator.ledger_for("PAYOUT-EXP")) == 1


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_every_operation_that_may_move_money_twice_carries_a_recovery_rule(
    operation: Operation[Any],
) -> None:
    """Step 3 of "How to add an operation" (ARCHITECTURE.md), for new creates and commits."""
    takes_custom_id = "custom_id" in {param.name for param in operation.body or ()}
    commits = "commit" in operation.name.split(".")[1].split("_")
    if takes_custom_id and operation.method == "POST":
        assert isinstance(operation.recovery, CreateRecovery), (
            f"{operation.name}: add it to CREATE_RECOVERY in codegen/_spec.py"
        )
    if commits:
        assert isinstance(operation.recovery, CommitRecovery), (
            f"{operation.name}: add it to COMMIT_RECOVERY in codegen/_spec.py"
        )
