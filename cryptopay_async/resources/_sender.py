"""What resources need from a client: something that sends one call and knows its retry rules.

Resources depend on this protocol only, never on ``AsyncCryptopay``: a test, a raw-response
view or another client shape can stand in by implementing ``send``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import attrs
import httpx

if TYPE_CHECKING:
    from cryptopay_async.middleware._retry import RetryPolicy
    from cryptopay_async.resources._recovery import RecoveryMemory


@attrs.frozen
class CallOptions:
    """What one call carries besides its target and body: its own timeout and headers.

    Made from a method's ``timeout=`` and ``extra_headers=`` once they are checked
    (``_arguments.call_options``); the extra query and body are already in the target
    and the body bytes by then, so they are signed like the rest.
    """

    timeout: httpx.Timeout | None = None
    headers: tuple[tuple[str, str], ...] = ()


class Sender(Protocol):
    """Sends ``method target`` with ``body`` through the whole chain; returns a 2xx answer.

    ``target`` is the already-encoded path plus ``?query``; errors arrive as the SDK's
    exceptions (the chain's error-decoding step raises them). ``options`` applies to
    every attempt of this call only.
    """

    @property
    def retry_policy(self) -> RetryPolicy:
        """How many times and how long a call may be repeated (exactly-once recovery reads it)."""
        ...

    async def send(
        self, method: str, target: str, body: bytes | None, options: CallOptions | None = None
    ) -> httpx.Response:
        """One call: admitted, built, passed down the chain; the final answer."""
        ...


class Container(Protocol):
    """What a resource belongs to (``Resources``): the sender, and its sibling resources.

    Exactly-once recovery reads objects back through the siblings, by the dotted names
    its rules hold (``operation(container, "invoices.retrieve_by_custom_id")``).
    """

    @property
    def sender(self) -> Sender:
        """The sender every resource of the container sends through."""
        ...

    @property
    def memory(self) -> RecoveryMemory:
        """What recovery keeps for a later commit (one per client runtime)."""
        ...


def operation(container: object, dotted: str) -> Any:
    """The bound method ``"resource.operation"`` of a client or of a ``Resources``."""
    resource, name = dotted.split(".")
    return getattr(getattr(container, resource), name)
