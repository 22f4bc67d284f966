"""Any id stays one literal segment inside its endpoint, and the path signed is the path sent.

Ids and custom ids are free-form merchant text: ``..``, ``/``, ``?``, ``#``, ``%``,
newlines, non-ASCII, lone surrogates, huge strings. Each either goes out percent-encoded
as exactly one segment of its operation's path, or is refused with a ``ValueError``
naming the argument before anything is sent (``.``, ``..`` and text with no UTF-8).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, quote, unquote

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cryptopay_async import AsyncCryptopay, NotFoundError
from cryptopay_async.resources import OPERATIONS, Operation
from cryptopay_async.resources._arguments import MAX_URL_ARGUMENT
from tests.fake_server import FakeCryptopay
from tests.resources.test_operations import BY_NAME, call_plan
from tests.support import (
    API_KEY,
    API_SECRET,
    Recorder,
    fixture_bytes,
    json_response,
    recorded_client,
    serve_asgi,
    signature_is_valid,
)

pytestmark = pytest.mark.anyio

WITH_PATH_PARAMS = sorted((op for op in OPERATIONS if op.path_params), key=lambda op: op.name)
REFUSED = {".", ".."}

hostile_text = st.one_of(
    st.sampled_from(
        [
            ".",
            "..",
            "...",
            "/",
            "?",
            "#",
            "%",
            "%2E%2E",
            "%2e",
            "..%2F",
            "a/../b",
            "../..",
            "\n",
            "X\nINFO forged",
            "\r\n",
            " ",
            "ä",
            "\udcff",
            "\x00",
            "\\..",
            "?x=1#y",
        ]
    ),
    st.text(alphabet=st.characters(exclude_categories=()), min_size=1, max_size=40),
    st.text(alphabet=st.sampled_from("./?#%\n\\ a"), min_size=1, max_size=12),
    st.integers(1, 20_000).map(lambda n: "é/..?#%" * n),
)


def not_found(_: httpx.Request) -> httpx.Response:
    return httpx.Response(404, content=fixture_bytes("errors/404-not_found.json"))


def refusal(value: str) -> str | None:
    """What the ValueError for this id says, or None when the id must be sent."""
    if value in REFUSED:
        return f"must not be {value!r}"
    try:
        value.encode()
    except UnicodeEncodeError:
        return "is not valid Unicode text"
    if len(quote(value, safe="")) > MAX_URL_ARGUMENT:
        return "is too long for a URL"
    return None


def check_sent_path(op: Operation[Any], ids: list[str], request: httpx.Request) -> None:
    raw = request.url.raw_path.decode("ascii")
    path = raw.partition("?")[0]
    wanted = op.path.split("/")
    sent = path.split("/")
    assert len(sent) == len(wanted), (op.name, raw)
    values = dict(zip(op.path_params, ids, strict=True))
    for template, segment in zip(wanted, sent, strict=True):
        if template.startswith("{"):
            assert unquote(segment, errors="strict") == values[template[1:-1]]
            assert segment not in REFUSED
        else:
            assert segment == template
    assert request.url.host == "h"
    assert signature_is_valid(request)  # signed over raw_path: signed path == sent path


async def call_with_ids(op: Operation[Any], ids: list[str]) -> Recorder:
    args, kwargs, _ = call_plan(BY_NAME[op.name])
    recorder = Recorder(not_found)
    async with recorded_client(recorder) as client:
        method = getattr(getattr(client, op.name.split(".")[0]), op.name.split(".")[1])
        refused = [(n, refusal(i)) for n, i in zip(op.path_params, ids, strict=True)]
        refused = [(n, why) for n, why in refused if why]
        if refused:
            with pytest.raises(ValueError) as caught:
                await method(*ids, **kwargs)
            name, why = refused[0]
            assert f"{name} {why}" in str(caught.value)
        else:
            with pytest.raises(NotFoundError):
                await method(*ids, **kwargs)
            assert len(args) == len(ids)
    return recorder


@pytest.mark.parametrize("op", WITH_PATH_PARAMS, ids=lambda op: op.name)
@pytest.mark.parametrize("hostile", ["..", "."])
async def test_dot_segments_are_refused_naming_the_argument(
    op: Operation[Any], hostile: str
) -> None:
    for position in range(len(op.path_params)):
        ids = ["ok"] * len(op.path_params)
        ids[position] = hostile
        assert (await call_with_ids(op, ids)).requests == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    op=st.sampled_from(WITH_PATH_PARAMS),
    ids=st.lists(hostile_text, min_size=2, max_size=2),
)
@example(
    op=next(o for o in WITH_PATH_PARAMS if o.name == "accounts.list_transactions"), ids=["..", "x"]
)
@example(op=next(o for o in WITH_PATH_PARAMS if o.name == "customers.update"), ids=[".", "x"])
@example(
    op=next(o for o in WITH_PATH_PARAMS if o.name == "invoices.retrieve_by_custom_id"),
    ids=["%2E%2E", "x"],
)
async def test_any_id_stays_one_segment_of_its_endpoint(op: Operation[Any], ids: list[str]) -> None:
    ids = ids[: len(op.path_params)]
    recorder = await call_with_ids(op, ids)
    assert len(recorder.requests) == (0 if any(map(refusal, ids)) else 1)
    for request in recorder.requests:
        check_sent_path(op, ids, request)


@pytest.mark.parametrize(
    ("custom_id", "target"),
    [
        ("%2E%2E", "/api/invoices/custom_id/%252E%252E"),
        ("a/../b", "/api/invoices/custom_id/a%2F..%2Fb"),
        ("..%2F", "/api/invoices/custom_id/..%252F"),
        ("X\nINFO forged", "/api/invoices/custom_id/X%0AINFO%20forged"),
        ("?#", "/api/invoices/custom_id/%3F%23"),
        ("ORDER 42/ä", "/api/invoices/custom_id/ORDER%2042%2F%C3%A4"),
    ],
)
async def test_hostile_ids_arrive_at_a_real_server_as_signed(custom_id: str, target: str) -> None:
    app = FakeCryptopay()
    with serve_asgi(app) as url:
        async with AsyncCryptopay(
            api_key=API_KEY, api_secret=API_SECRET, base_url=url, rate_limiter=None
        ) as client:
            await client.invoices.retrieve_by_custom_id(custom_id)
    assert app.requests == [("GET", target, True)]


@settings(max_examples=200, deadline=None)
@given(value=hostile_text)
async def test_any_filter_value_stays_one_query_parameter(value: str) -> None:
    recorder = Recorder(lambda r: json_response(200, {"data": [], "meta": {"has_more": False}}))
    async with recorded_client(recorder) as client:
        if value not in REFUSED and refusal(value) is not None:  # dots are fine in a query
            with pytest.raises(ValueError, match=r"^customer_id "):
                await client.invoices.list(customer_id=value)
            assert recorder.requests == []
            return
        await client.invoices.list(customer_id=value)
    (request,) = recorder.requests
    path, _, query = request.url.raw_path.decode("ascii").partition("?")
    assert path == "/api/invoices"
    assert parse_qs(query, keep_blank_values=True, errors="strict") == {"customer_id": [value]}
    assert signature_is_valid(request)
