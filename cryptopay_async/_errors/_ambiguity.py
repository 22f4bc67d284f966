"""Whether a failed request may have been processed, and what the error tells the caller.

A write that failed after it left this machine (a read timeout, a connection dropped
before the whole answer arrived, a 500/502/504) may have been carried out by the server:
its error carries ``maybe_processed=True`` and a sentence saying how to find out. The
"Exactly-once money" guide's table (docs/guides/exactly-once.md) is this module written out.
"""

from __future__ import annotations

import httpx

from cryptopay_async._errors._exceptions import READ_ONLY_METHODS, CryptopayError
from cryptopay_async._errors._messages import custom_id_of, shown
from cryptopay_async._extensions import may_have_been_sent


def transport_failure_maybe_processed(request: httpx.Request, error: Exception) -> bool:
    """True unless the request certainly did not act: never sent, or only a read.

    "Never sent" is the transport step's record (``SENT``), not the error's class: a
    transport may call a disconnect after sending a connect error.
    """
    if request.method in READ_ONLY_METHODS:
        return False
    return may_have_been_sent(request)


def advise(error: CryptopayError, request: httpx.Request) -> None:
    """Add what to do to the message of an error that may have been processed."""
    if not error.maybe_processed:
        return
    path = request.url.path
    if path.endswith("/commit"):
        error._amend(
            "the commit may have been applied: read the object back and check whether it "
            "was committed before committing again (a second commit is refused with 409)"
        )
        return
    custom_id = custom_id_of(request)
    if custom_id is not None:
        error._amend(
            f"it may have been processed: read it back by custom_id {shown(custom_id)} "
            "(retrieve_by_custom_id) before repeating it"
        )
        return
    error._amend(
        f"{request.method} {path} may have been processed (an object created or money "
        "moved): check before repeating it, or pass custom_id to make such a call "
        "retry-safe"
    )
