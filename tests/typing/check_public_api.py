"""What a type checker infers for the public API: checked by mypy and pyright, never run.

``nox -s typecheck`` runs both over this file; a wrong annotation in the SDK makes one
of the ``assert_type`` lines fail there.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, assert_type

import httpx

from cryptopay_async import APIResponse, AsyncCryptopay
from cryptopay_async.callbacks import Callback, CallbackReceiver, verify
from cryptopay_async.models import (
    AsyncPager,
    CoinWithdrawal,
    Customer,
    CustomerAddressParams,
    Invoice,
    Page,
    Rate,
)


async def client_calls() -> None:
    client = AsyncCryptopay(api_key="k", api_secret="s", app_info="my-shop/1.4")
    assert_type(client, AsyncCryptopay)

    invoice = await client.invoices.create(
        price_amount=Decimal("10"),
        price_currency="EUR",
        pay_currency="BTC",
        custom_id="ORDER-1",
        timeout=5.0,
        extra_headers={"X-Trace": "1"},
        extra_query={"preview": "yes"},
        extra_body={"not_modelled_yet": True},
    )
    assert_type(invoice, Invoice)
    assert_type(invoice.extra_fields, Mapping[str, Any])
    assert_type(invoice.price_amount, Decimal)

    pager = client.invoices.list(customer_id="C-1", timeout=httpx.Timeout(3.0))
    assert_type(pager, AsyncPager[Invoice])
    page = await pager
    assert_type(page, Page[Invoice])
    assert_type(page.data, list[Invoice])
    assert_type(await page.next_page(), Page[Invoice] | None)
    async for item in client.invoices.list():
        assert_type(item, Invoice)

    rate = await client.rates.retrieve("BTC", "EUR", extra_headers={"X-Trace": "2"})
    assert_type(rate, Rate)
    assert_type(await client.rates.all(), dict[str, Rate])

    raw = await client.with_raw_response.invoices.retrieve("id", timeout=1.0)
    assert_type(raw, APIResponse[Any])
    assert_type(raw.status_code, int)

    withdrawal = await client.coin_withdrawals.create(
        address="bc1q",
        charged_currency="EUR",
        received_currency="BTC",
        charged_amount="10",
        beneficiary={
            "type": "natural_person",
            "name": "Ada",
            "address": {"country": "PT", "city": "Lisbon"},  # optional keys may be left out
        },
    )
    assert_type(withdrawal, CoinWithdrawal)
    address: CustomerAddressParams = {"address": "bc1q", "currency": "BTC", "network": "bitcoin"}
    assert_type(
        await client.customers.create(id="C-1", currency="EUR", addresses=[address]), Customer
    )

    shop = client.with_options(api_key="k2", api_secret="s2", callback_secret=["new", "old"])
    assert_type(shop, AsyncCryptopay)
    assert_type(shop.callback_secret, str | None)
    await shop.aclose()
    await client.aclose()


async def callbacks(body: bytes, signature: str) -> None:
    assert_type(verify(body, signature, secret=["new", "old"]), Callback)
    assert_type(verify(body, signature, secret="new,old"), Callback)

    async def handle(event: Callback) -> None:
        return None

    receiver = CallbackReceiver(handle, secret=["new", "old"])
    assert_type(receiver, CallbackReceiver)
