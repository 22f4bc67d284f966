"""A 204 No Content answer returns None (public-api.md §5), for every operation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cryptopay_async.resources import OPERATIONS, Operation
from tests.resources.test_operations import BY_NAME, call_plan
from tests.support import Recorder, recorded_client

pytestmark = pytest.mark.anyio

SINGLE = sorted((op for op in OPERATIONS if not op.paginated), key=lambda op: op.name)


@pytest.mark.filterwarnings("ignore:risks.score is deprecated:DeprecationWarning")
@pytest.mark.parametrize("op", SINGLE, ids=lambda op: op.name)
async def test_no_content_returns_none(op: Operation[Any]) -> None:
    args, kwargs, _ = call_plan(BY_NAME[op.name])
    recorder = Recorder(lambda r: httpx.Response(204))
    resource, operation = op.name.split(".")
    async with recorded_client(recorder) as client:
        method = getattr(getattr(client, resource), operation)
        assert await method(*args, **kwargs) is None
    assert len(recorder.requests) == 1
