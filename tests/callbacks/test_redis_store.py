"""RedisDeliveryStore on a real redis-server: atomic first-wins, expiry, discard."""

from __future__ import annotations

import uuid

import anyio
import pytest
import redis
import redis.asyncio

from cryptopay_async.callbacks import (
    Callback,
    CallbackReceiver,
    Deduplicator,
    DeliveryStore,
    LeasingStore,
    RedisDeliveryStore,
    Verdict,
    verify,
)
from tests.callbacks.test_dedupe import BODY, SIGNATURE
from tests.support import CALLBACK_SECRET

pytestmark = pytest.mark.anyio


@pytest.fixture
def prefix() -> str:
    return f"test:{uuid.uuid4().hex}:"


@pytest.mark.parametrize("entered", [True, False])
async def test_the_first_add_wins_and_discard_lets_the_key_in_again(
    redis_url: str, prefix: str, entered: bool
) -> None:
    store = RedisDeliveryStore(redis_url, prefix=prefix)
    assert isinstance(store, DeliveryStore)

    async def exercise() -> list[bool]:
        first, again = await store.add("event-1"), await store.add("event-1")
        await store.discard("event-1")
        return [first, again, await store.add("event-1"), await store.add("event-2")]

    if entered:
        async with store:
            outcome = await exercise()
    else:
        outcome = await exercise()  # a connection per call
    assert outcome == [True, False, True, True]


async def test_of_many_concurrent_deliveries_of_one_event_exactly_one_wins(
    redis_url: str, prefix: str
) -> None:
    stores = [RedisDeliveryStore(redis_url, prefix=prefix) for _ in range(4)]  # four workers
    wins: list[bool] = []

    async def deliver(store: RedisDeliveryStore) -> None:
        wins.append(await store.add("same-event"))

    async with stores[0], stores[1], stores[2], stores[3], anyio.create_task_group() as tg:
        for index in range(200):
            tg.start_soon(deliver, stores[index % 4])
    assert wins.count(True) == 1
    assert len(wins) == 200


async def test_keys_expire_after_the_ttl(redis_url: str, prefix: str) -> None:
    async with RedisDeliveryStore(redis_url, prefix=prefix, ttl=0.2) as store:
        assert await store.add("short-lived")
        assert not await store.add("short-lived")
        await anyio.sleep(0.35)
        assert await store.add("short-lived")


async def test_a_claim_is_in_progress_until_settled_and_lapses_if_its_holder_died(
    redis_url: str, prefix: str
) -> None:
    async with RedisDeliveryStore(redis_url, prefix=prefix) as store:
        assert isinstance(store, LeasingStore)
        assert await store.claim("killed", lease=2.0) is Verdict.NEW
        assert await store.claim("done", lease=2.0) is Verdict.NEW
        await store.settle("done")
        assert await store.claim("killed", lease=2.0) is Verdict.IN_PROGRESS
        assert await store.claim("done", lease=2.0) is Verdict.HANDLED
        await anyio.sleep(2.3)  # nobody renewed "killed": its holder died
        assert await store.claim("killed", lease=60) is Verdict.NEW
        assert await store.claim("done", lease=60) is Verdict.HANDLED


async def test_a_claim_whose_handler_failed_is_new_again_never_handled(
    redis_url: str, prefix: str
) -> None:
    """The verdict is read in the same step as the claim: a key deleted by a failed
    handler is found absent and claimed, never taken for a handled one."""
    async with RedisDeliveryStore(redis_url, prefix=prefix) as store:
        assert await store.claim("k", lease=60) is Verdict.NEW
        assert await store.claim("k", lease=60) is Verdict.IN_PROGRESS
        await store.discard("k")  # the first handler raised
        assert await store.claim("k", lease=60) is Verdict.NEW


async def test_a_late_renewal_never_shortens_a_kept_key(redis_url: str, prefix: str) -> None:
    with redis.Redis.from_url(redis_url) as client:  # to read the time to live
        async with RedisDeliveryStore(redis_url, prefix=prefix, ttl=3600) as store:
            assert await store.claim("k", lease=0.5) is Verdict.NEW
            assert await store.renew("k", lease=30)
            assert 0.5 * 1000 < client.pttl(prefix + "k") <= 30 * 1000
            await store.settle("k")  # another worker's claim, lapsed and settled meanwhile
            assert not await store.renew("k", lease=0.5)  # the renewal says it lost the claim
            assert client.pttl(prefix + "k") > 30 * 1000
            assert await store.claim("k", lease=60) is Verdict.HANDLED


async def test_the_deduplicator_uses_it_for_typed_events(redis_url: str, prefix: str) -> None:
    async with RedisDeliveryStore(redis_url, prefix=prefix) as store:
        first, second = Deduplicator(store), Deduplicator(store)
        event = verify(BODY, SIGNATURE, secret=CALLBACK_SECRET)
        assert await first.first_delivery(event)
        assert not await second.first_delivery(event)
        await second.forget(event)
        assert await first.first_delivery(event)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_redis_asyncio_client_works_too(redis_url: str, prefix: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        store = RedisDeliveryStore(client, prefix=prefix)
        assert await store.add("k")
        assert not await store.add("k")
        await store.discard("k")
        assert await store.add("k")
        assert await client.pttl(prefix + "k") > 0
    finally:
        await client.aclose()


async def test_an_unreachable_redis_raises_instead_of_guessing() -> None:
    from cryptopay_async.testing._server import free_port

    store = RedisDeliveryStore(f"redis://127.0.0.1:{free_port()}/0", timeout=1.0)
    with anyio.fail_after(5), pytest.raises(Exception, match="connection"):
        await store.add("k")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [({"ttl": 0}, "ttl"), ({"timeout": -1}, "timeout"), ({"prefix": "a b"}, "prefix")],
)
def test_bad_settings_are_refused(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RedisDeliveryStore("redis://127.0.0.1:1/0", **arguments)  # type: ignore[arg-type]


async def test_a_receiver_whose_store_is_down_answers_503_without_running_the_handler() -> None:
    from cryptopay_async.testing._server import free_port

    handled: list[Callback] = []

    async def handler(event: Callback) -> None:
        handled.append(event)

    store = RedisDeliveryStore(f"redis://127.0.0.1:{free_port()}/0", timeout=1.0)
    receiver = CallbackReceiver(handler, secret=CALLBACK_SECRET, store=store)
    outcome = await receiver.receive(BODY, SIGNATURE)
    assert (outcome.status, outcome.text) == (503, "store unavailable")
    assert handled == []


async def test_a_failed_handler_is_retried_by_the_next_delivery_on_another_worker(
    redis_url: str, prefix: str
) -> None:
    calls: list[str] = []

    async def flaky(event: Callback) -> None:
        calls.append("called")
        if len(calls) == 1:
            raise RuntimeError("database down")

    async with RedisDeliveryStore(redis_url, prefix=prefix) as store:
        first, second = (
            CallbackReceiver(flaky, secret=CALLBACK_SECRET, store=store) for _ in range(2)
        )
        answers = [
            (await first.receive(BODY, SIGNATURE)).status,
            (await second.receive(BODY, SIGNATURE)).status,
            (await first.receive(BODY, SIGNATURE)).status,
        ]
    assert answers == [500, 200, 200]
    assert calls == ["called", "called"]
