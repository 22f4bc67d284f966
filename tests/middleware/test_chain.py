from __future__ import annotations

import httpx
import pytest

from cryptopay_async import CallNext, NotFoundError
from cryptopay_async.middleware import compose
from tests.support import (
    Recorder,
    fixture_bytes,
    json_response,
    recorded_client,
)


@pytest.mark.anyio
async def test_compose_runs_outermost_first_and_unwinds_in_reverse() -> None:
    trail: list[str] = []

    def step(name: str):  # type: ignore[no-untyped-def]
        async def middleware(request: httpx.Request, call_next: CallNext) -> httpx.Response:
            trail.append(f"{name}>")
            response = await call_next(request)
            trail.append(f"<{name}")
            return response

        return middleware

    async def endpoint(request: httpx.Request) -> httpx.Response:
        trail.append("send")
        return httpx.Response(200)

    chain = compose([step("a"), step("b"), step("c")], endpoint)
    await chain(httpx.Request("GET", "https://h/"))
    assert trail == ["a>", "b>", "c>", "send", "<c", "<b", "<a"]


@pytest.mark.anyio
async def test_user_middleware_is_outermost_and_sees_the_final_exception() -> None:
    seen: list[object] = []

    async def observe(request: httpx.Request, call_next: CallNext) -> httpx.Response:
        # Outermost: the request is not signed yet, and errors arrive decoded.
        seen.append("authorization" in request.headers)
        try:
            return await call_next(request)
        except NotFoundError as exc:
            seen.append(exc.code)
            raise

    recorder = Recorder(
        lambda r: httpx.Response(404, content=fixture_bytes("errors/404-not_found.json"))
    )
    async with recorded_client(recorder, middleware=[observe]) as client:
        with pytest.raises(NotFoundError):
            await client.invoices.retrieve("missing")
    assert seen == [False, "not_found"]


@pytest.mark.anyio
async def test_user_middleware_sees_the_final_response_after_retries() -> None:
    answers = iter([503, 200])
    statuses: list[int] = []

    async def observe(request: httpx.Request, call_next: CallNext) -> httpx.Response:
        response = await call_next(request)
        statuses.append(response.status_code)
        return response

    recorder = Recorder(lambda r: json_response(next(answers), {"data": {}}))

    async with recorded_client(recorder, middleware=[observe]) as client:
        assert await client.request("GET", "/api/anything") == {"data": {}}
    assert statuses == [200]
    assert len(recorder.requests) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("slots", [1, 3])
async def test_concurrency_limit_holds_at_most_n_in_flight_and_serves_in_order(
    slots: int,
) -> None:
    import anyio

    from cryptopay_async.middleware import ConcurrencyLimitMiddleware

    step = ConcurrencyLimitMiddleware(slots)
    in_flight = peak = 0
    started: list[int] = []

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        started.append(int(request.url.path.strip("/")))
        await anyio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200)

    async def call(index: int) -> None:
        await step(httpx.Request("GET", f"https://h/{index}"), slow)

    async with anyio.create_task_group() as tg:
        for index in range(12):
            tg.start_soon(call, index)
            await anyio.wait_all_tasks_blocked()  # caller `index` is queued before the next
    assert peak == slots
    if slots == 1:  # one hand-over at a time: the order shows FIFO (trio shuffles ties)
        assert started == list(range(12))
    with pytest.raises(ValueError, match="max_concurrency"):
        ConcurrencyLimitMiddleware(0)


@pytest.mark.anyio
async def test_calls_beyond_the_admitted_chains_wait_before_building_a_request() -> None:
    import anyio

    active = peak = 0

    async def observe(request: httpx.Request, call_next: CallNext) -> httpx.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        try:
            await anyio.sleep(0.01)
            return await call_next(request)
        finally:
            active -= 1

    recorder = Recorder(lambda r: json_response(200, {"data": {}}))
    async with (
        recorded_client(recorder, middleware=[observe], max_concurrency=2) as client,
        anyio.create_task_group() as tg,
    ):
        for index in range(40):
            tg.start_soon(client.request, "GET", f"/api/x/{index}")
    assert peak == 2 * 4  # max_concurrency x ADMITTED_PER_SLOT chains at once
    assert len(recorder.requests) == 40


@pytest.mark.anyio
async def test_retry_after_is_parsed_once_per_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptopay_async import RateLimitError
    from cryptopay_async._extensions import parse_retry_after

    parsed: list[str | None] = []

    def counting(headers: httpx.Headers, **kwargs: float) -> float | None:
        parsed.append(headers.get("retry-after"))
        return parse_retry_after(headers, **kwargs)

    monkeypatch.setattr("cryptopay_async._extensions.parse_retry_after", counting)
    pauses: list[float] = []

    class Limiter:
        async def acquire(self) -> None:
            pass

        def pause(self, seconds: float) -> None:
            pauses.append(seconds)

    answers = iter(["0", "0.5"])
    recorder = Recorder(
        lambda r: json_response(429, {"error": {"code": "x"}}, {"retry-after": next(answers)})
    )
    async with recorded_client(recorder, rate_limiter=Limiter(), max_retries=1) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.request("GET", "/api/anything")
    # Two answers, each read by the limiter step, the retry step (first one) and the error.
    assert parsed == ["0", "0.5"]
    assert pauses == [0.0, 0.5]
    assert caught.value.retry_after == 0.5
