"""A local Cryptopay API emulator for tests: in-process, or a real server on loopback.

```python
from cryptopay_async.testing import CryptopayEmulator

emulator = CryptopayEmulator(rate_limit=200, rate_period=60.0)
async with emulator.client() as client:
    invoice = await client.invoices.create(price_amount="10", price_currency="EUR",
                                           pay_currency="BTC")
    emulator.pay_invoice(invoice.id)
```
"""

from cryptopay_async._extras import needs_extra

with needs_extra("testing", "the emulator (cryptopay_async.testing)"):
    from cryptopay_async.testing._api import LedgerEntry
    from cryptopay_async.testing._emulator import CryptopayEmulator, Faults
    from cryptopay_async.testing._server import serve_in_thread
    from cryptopay_async.testing._webhooks import Delivery, retry_delay

__all__ = [
    "CryptopayEmulator",
    "Delivery",
    "Faults",
    "LedgerEntry",
    "retry_delay",
    "serve_in_thread",
]
