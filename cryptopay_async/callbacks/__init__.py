"""Signed callbacks (webhooks): verification, typed events and once-only processing.

```python
from cryptopay_async.callbacks import verify, InvoiceCallback

event = verify(raw_body, request.headers["X-Cryptopay-Signature"], secret=CALLBACK_SECRET)
match event:
    case InvoiceCallback(event="status_changed", data=invoice):
        ...
```
"""

from cryptopay_async.callbacks._checkpoint import (
    Checkpoint,
    FileCheckpoint,
    MemoryCheckpoint,
    RedisCheckpoint,
)
from cryptopay_async.callbacks._dedupe import (
    Deduplicator,
    DeliveryStore,
    LeasingStore,
    MemoryDeliveryStore,
    Verdict,
    delivery_key,
    state_key,
)
from cryptopay_async.callbacks._events import Callback, UnknownCallback
from cryptopay_async.callbacks._receiver import CallbackReceiver, Outcome
from cryptopay_async.callbacks._redis_store import RedisDeliveryStore
from cryptopay_async.callbacks._sweeper import CallbackSweeper, SweepReport
from cryptopay_async.callbacks._verify import (
    SIGNATURE_HEADER,
    CallbackPayloadError,
    signature_for,
    verify,
)
from cryptopay_async.models._callbacks import (
    ChannelPaymentCallback,
    ChannelPaymentCallbackEvent,
    CoinWithdrawalCallback,
    CoinWithdrawalCallbackEvent,
    InvoiceCallback,
    InvoiceCallbackEvent,
    SubscriptionCallback,
    SubscriptionCallbackEvent,
)

__all__ = [
    "SIGNATURE_HEADER",
    "Callback",
    "CallbackPayloadError",
    "CallbackReceiver",
    "CallbackSweeper",
    "ChannelPaymentCallback",
    "ChannelPaymentCallbackEvent",
    "Checkpoint",
    "CoinWithdrawalCallback",
    "CoinWithdrawalCallbackEvent",
    "Deduplicator",
    "DeliveryStore",
    "FileCheckpoint",
    "InvoiceCallback",
    "InvoiceCallbackEvent",
    "LeasingStore",
    "MemoryCheckpoint",
    "MemoryDeliveryStore",
    "Outcome",
    "RedisCheckpoint",
    "RedisDeliveryStore",
    "SubscriptionCallback",
    "SubscriptionCallbackEvent",
    "SweepReport",
    "UnknownCallback",
    "Verdict",
    "delivery_key",
    "signature_for",
    "state_key",
    "verify",
]
