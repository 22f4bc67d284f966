"""``transport="aiohttp"``: the same SDK over aiohttp's pool, signatures intact."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cryptopay_async import AsyncCryptopay, NotFoundError
from cryptopay_async.testing import CryptopayEmulator, serve_in_thread


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[CryptopayEmulator, str]]:
    emulator = CryptopayEmulator(rate_limit=100_000)
    with serve_in_thread(emulator.asgi_app) as url:
        yield emulator, url


# aiohttp runs on asyncio only, so this transport is exercised there alone.
@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_aiohttp_transport_sends_signed_requests_with_escapes_intact(
    served: tuple[CryptopayEmulator, str],
) -> None:
    emulator, url = served
    async with AsyncCryptopay(
        api_key=emulator.api_key,
        api_secret=emulator.api_secret,
        base_url=url,
        rate_limiter=None,
        transport="aiohttp",
    ) as client:
        for custom_id in ["ORDER 1/ä?", "100%", "plain"]:
            invoice = await client.invoices.create(
                price_amount="10", price_currency="EUR", pay_currency="BTC", custom_id=custom_id
            )
            assert (await client.invoices.retrieve_by_custom_id(custom_id)).id == invoice.id
        page = await client.transactions.list(reference_type="Invoice")
        assert page.total is not None
        # A timestamp's ':' and '+' go out percent-encoded, exactly as signed.
        since = await client.transactions.list(created_at_from=invoice.created_at)
        assert since.total == 0
        with pytest.raises(NotFoundError):
            await client.invoices.retrieve("00000000-0000-4000-8000-000000000000")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"transport": "carrier-pigeon"}, "unknown transport"),
        ({"transport": "aiohttp", "http_client": object()}, "not both"),
    ],
)
def test_transport_choices_are_checked(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AsyncCryptopay(api_key="k", api_secret="s", **kwargs)  # type: ignore[arg-type]
