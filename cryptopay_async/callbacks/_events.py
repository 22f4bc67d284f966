"""Typed callback events: a class per ``type``, each with an ``event`` enum and a ``data`` model.

The known classes are generated from the API description (``models/_callbacks.py``); a ``type``
this release does not know arrives as ``UnknownCallback`` instead of failing.
"""

from __future__ import annotations

from typing import Any

import attrs

from cryptopay_async.models._callbacks import KnownCallback


@attrs.frozen(kw_only=True)
class UnknownCallback:
    """A callback ``type`` this release does not know; ``data`` is the raw JSON object."""

    type: str
    event: str
    data: dict[str, Any]


Callback = KnownCallback | UnknownCallback
"""Whatever ``verify`` returns; match on the class to handle each kind."""
