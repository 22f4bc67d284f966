"""The first example of the README and the site: create an invoice, or read it back.

Run: ``CRYPTOPAY_API_KEY=... CRYPTOPAY_API_SECRET=... python examples/quickstart.py``
(add ``CRYPTOPAY_BASE_URL`` for the emulator). A second run takes the ConflictError path.
"""

from decimal import Decimal

import anyio

from cryptopay_async import AsyncCryptopay, ConflictError


async def main() -> None:
    async with AsyncCryptopay() as client:  # credentials from CRYPTOPAY_* env vars
        try:
            invoice = await client.invoices.create(
                price_amount=Decimal("100.0"),
                price_currency="EUR",
                pay_currency="BTC",
                custom_id="ORDER-42",
            )
        except ConflictError:  # ORDER-42 exists already (an earlier run): read it back
            invoice = await client.invoices.retrieve_by_custom_id("ORDER-42")
        print(invoice.id, invoice.pay_amount, invoice.hosted_page_url)

        page = await client.invoices.list()  # first page (up to 50, newest first)
        print(len(page.data), "invoices on the first page")
        async for listed in client.invoices.list():  # every invoice, page after page
            print(listed.custom_id, listed.status)


if __name__ == "__main__":
    anyio.run(main)
