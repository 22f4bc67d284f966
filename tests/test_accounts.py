"""Several accounts on one pool: ``client.with_options(api_key=..., api_secret=...)``."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from cryptopay_async import AsyncCryptopay, AuthenticationError
from cryptopay_async.ratelimit import (
    RedisTokenBucket,
    TokenBucket,
    fleet_bucket_name,
    shared_limiter,
)
from cryptopay_async.testing import CryptopayEmulator, serve_in_thread

pytestmark = pytest.mark.anyio

SHOP_KEY, SHOP_SECRET = "shop-two-key", "shop-two-secret"


async def test_two_accounts_share_one_pool_each_signing_with_its_own_key() -> None:
    emulator = CryptopayEmulator(rate_limit=100_000)
    emulator.add_api_key(SHOP_KEY, SHOP_SECRET)
    with serve_in_thread(emulator.asgi_app, lifespan="off") as url:
        async with AsyncCryptopay(
            api_key=emulator.api_key, api_secret=emulator.api_secret, base_url=url
        ) as platform:
            async with platform.with_options(api_key=SHOP_KEY, api_secret=SHOP_SECRET) as shop:
                assert shop._runtime.http is platform._runtime.http  # one pool
                assert shop.rate_limiter is shared_limiter(SHOP_KEY)
                assert platform.rate_limiter is shared_limiter(emulator.api_key)

                async def create(client: AsyncCryptopay, custom_id: str) -> None:
                    await client.invoices.create(
                        price_amount="1",
                        price_currency="EUR",
                        pay_currency="BTC",
                        custom_id=custom_id,
                    )

                async with anyio.create_task_group() as tg:
                    for n in range(3):
                        tg.start_soon(create, platform, f"P-{n}")
                        tg.start_soon(create, shop, f"S-{n}")
            # the shop's client is closed: the platform's pool still serves
            assert (await platform.invoices.retrieve_by_custom_id("S-0")).custom_id == "S-0"
    assert emulator.requests_by_key == {emulator.api_key: 4, SHOP_KEY: 3}
    assert emulator.errors_answered == {}


async def test_the_other_account_signs_with_its_own_secret() -> None:
    emulator = CryptopayEmulator(rate_limit=100_000)
    emulator.add_api_key(SHOP_KEY, SHOP_SECRET)
    async with emulator.client(rate_limiter=None) as platform:
        wrong = platform.with_options(api_key=SHOP_KEY, api_secret="not-the-secret")
        with pytest.raises(AuthenticationError):
            await wrong.rates.retrieve("BTC", "EUR")
        right = platform.with_options(api_key=SHOP_KEY, api_secret=SHOP_SECRET)
        assert (await right.rates.retrieve("BTC", "EUR")).buy_rate > 0


def test_another_keys_limiter_follows_how_this_clients_was_chosen(redis_url: str) -> None:
    fleet = AsyncCryptopay(api_key="k1", api_secret="s1", redis_url=redis_url)
    derived = fleet.with_options(api_key="k2", api_secret="s2")
    assert isinstance(derived.rate_limiter, RedisTokenBucket)
    assert derived.rate_limiter.name == fleet_bucket_name("k2")
    unpaced = AsyncCryptopay(api_key="k1", api_secret="s1", rate_limiter=None)
    assert unpaced.with_options(api_key="k2", api_secret="s2").rate_limiter is None
    same_key = fleet.with_options(timeout=3, callback_secret="cb")
    assert same_key.rate_limiter is fleet.rate_limiter
    assert same_key.callback_secret == "cb"


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"api_key": "k2"}, "api_key and api_secret together"),
        ({"api_secret": "s2"}, "api_key and api_secret together"),
        ({"api_key": "k 2", "api_secret": "s2"}, "api_key contains whitespace"),
        ({"api_key": "k1", "api_secret": "other"}, "same api_key with another api_secret"),
        ({"callback_secret": "new-callback-secret"}, None),
    ],
)
def test_bad_credentials_are_refused_naming_the_problem(
    options: dict[str, Any], problem: str | None
) -> None:
    client = AsyncCryptopay(api_key="k1", api_secret="s1", rate_limiter=None)
    if problem is None:
        client.with_options(**options)
        return
    with pytest.raises(ValueError, match=problem):
        client.with_options(**options)


def test_a_client_with_a_limiter_passed_in_cannot_guess_another_keys() -> None:
    client = AsyncCryptopay(api_key="k1", api_secret="s1", rate_limiter=TokenBucket(10, 1))
    with pytest.raises(ValueError, match="limiter of another api_key is unknown"):
        client.with_options(api_key="k2", api_secret="s2")
