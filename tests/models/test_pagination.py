"""A list walk always ends: a repeated or empty page that says ``has_more`` stops it."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptopay_async import APIResponseValidationError, AsyncCryptopay
from tests.support import FIXTURES, Recorder, json_response, recorded_client

pytestmark = pytest.mark.anyio

INVOICES: list[dict[str, Any]] = json.loads(
    (FIXTURES / "responses-2023/invoices/list.json").read_bytes()
)["data"]
A, B, C = INVOICES[:2], INVOICES[2:4], INVOICES[4:6]


Answers = tuple[tuple[list[dict[str, Any]], bool], ...]


def pages(*answers: tuple[list[dict[str, Any]], bool]) -> Recorder:
    """Answers the n-th request with the n-th (items, has_more), repeating the last."""
    calls = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        items, has_more = answers[min(calls, len(answers) - 1)]
        calls += 1
        return json_response(200, {"data": items, "meta": {"has_more": has_more}})

    return Recorder(answer)


async def walk(client: AsyncCryptopay) -> list[str]:
    """Every invoice id of the list, stopping the test if the walk does not end."""
    seen: list[str] = []
    async for invoice in client.invoices.list():
        seen.append(invoice.id)
        assert len(seen) < 100, "the walk did not stop"
    return seen


@pytest.mark.parametrize(
    ("answers", "fragment", "requests"),
    [
        (((A, True),), "ends at", 2),  # a cache answering page 1 to every cursor
        (((A, True), (B, True), (A, True)), "ends at", 3),  # A -> B -> A -> ...
        (((A, True), (B, True), (C, True), (B, True)), "ends at", 4),
        (((A, True), ([], True)), "is empty but says has_more", 2),
        ((([], True),), "is empty but says has_more", 1),
    ],
    ids=["same-page", "two-page-cycle", "later-cycle", "empty-after-items", "empty-first"],
)
async def test_a_walk_that_would_not_advance_stops_with_an_error(
    answers: Answers, fragment: str, requests: int
) -> None:
    server = pages(*answers)
    async with recorded_client(server) as client:
        with pytest.raises(APIResponseValidationError) as caught:
            await walk(client)
    assert fragment in str(caught.value)
    assert "stopped rather than loop" in str(caught.value)
    assert str(caught.value).startswith("GET /api/invoices")
    assert len(server.requests) == requests
    assert caught.value.response.status_code == 200


async def test_next_page_refuses_a_page_that_repeats_the_one_before() -> None:
    async with recorded_client(pages((A, True))) as client:
        page = await client.invoices.list()
        with pytest.raises(APIResponseValidationError, match="a repeated page"):
            await page.next_page()


async def test_a_walk_over_distinct_pages_is_not_mistaken_for_a_loop() -> None:
    async with recorded_client(pages((A, True), (B, True), (C, False))) as client:
        ids = await walk(client)
    assert ids == [i["id"] for i in A + B + C]


async def test_no_content_is_an_empty_last_page() -> None:
    async with recorded_client(Recorder(lambda r: httpx.Response(204))) as client:
        page = await client.invoices.list()
        items = [invoice async for invoice in client.invoices.list()]
    assert (page.data, page.has_more, items) == ([], False, [])


async def test_an_item_id_too_long_for_the_next_url_stops_the_walk() -> None:
    huge = [{**A[0], "id": "x" * 70_000}]
    async with recorded_client(pages((huge, True))) as client:
        with pytest.raises(APIResponseValidationError, match="70000 characters, too long"):
            await walk(client)


@settings(max_examples=300, deadline=None)
@given(
    answers=st.lists(
        st.tuples(st.lists(st.sampled_from(range(len(INVOICES))), max_size=4), st.booleans()),
        min_size=1,
        max_size=12,
    )
)
def test_any_sequence_of_pages_ends_within_one_request_per_distinct_item(
    answers: list[tuple[list[int], bool]],
) -> None:
    server = pages(*(([INVOICES[i] for i in items], more) for items, more in answers))

    async def main() -> str:
        async with recorded_client(server) as client:
            try:
                await walk(client)
            except APIResponseValidationError as exc:
                return str(exc)
        return "completed"

    outcome = anyio.run(main)
    assert outcome == "completed" or "stopped rather than loop" in outcome
    assert len(server.requests) <= len(INVOICES) + 1
