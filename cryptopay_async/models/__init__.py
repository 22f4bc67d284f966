"""Typed, immutable models of everything the Cryptopay API returns.

Frozen slotted attrs classes: money is ``Decimal``, timestamps are aware ``datetime``,
enums are ``str`` enums and an unknown value arrives as a plain ``str``.
"""

from cryptopay_async.models import _generated
from cryptopay_async.models._dict import to_dict
from cryptopay_async.models._enum import ApiEnum
from cryptopay_async.models._generated import *  # noqa: F403 - the generated list is __all__
from cryptopay_async.models._pagination import AsyncPager, Page

__all__ = [*_generated.__all__, "ApiEnum", "AsyncPager", "Page", "to_dict"]
