"""A client's spans and metrics, recorded by the real OpenTelemetry SDK.

Attempts fail on purpose (``tests/scripted_faults.py``: 503s and 429s refused before
processing, 500s and dropped connections after it, connections that never open), and
the trees, attributes and counters must say exactly what happened. The last test runs
a served emulator with random faults and checks the metrics add up to its counters.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import anyio
import attrs
import httpx
import pytest
from anyio import wait_all_tasks_blocked

from cryptopay_async import AsyncCryptopay, CryptopayError, RetryPolicy
from cryptopay_async.ratelimit import TokenBucket
from cryptopay_async.testing import CryptopayEmulator, Faults, serve_in_thread
from tests.otel.otel import Recording, attribute
from tests.scripted_faults import Rule, scripted_client

pytestmark = pytest.mark.anyio

INVOICE: dict[str, Any] = {"price_amount": "10", "price_currency": "EUR", "pay_currency": "BTC"}
CREATE = r"/api/invoices"
BY_CUSTOM_ID = r"/api/invoices/custom_id/.+"
ONE = r"/api/invoices/[0-9a-f-]{36}"
QUICK = RetryPolicy(initial_backoff=0, max_retries=2)


class SignedHeaders:
    """Attempt middleware keeping nothing but a handle on each request, so that the
    test can read the Authorization header signing adds after it."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request, call_next: Any) -> httpx.Response:
        self.requests.append(request)
        response: httpx.Response = await call_next(request)
        return response

    def secrets(self) -> set[str]:
        """Every Authorization header and signature that went out."""
        found: set[str] = set()
        for request in self.requests:
            header = request.headers["Authorization"]
            found |= {header, header.rpartition(":")[2]}
        return found


def assert_nothing_secret(recording: Recording, client: AsyncCryptopay, *more: str) -> None:
    text = recording.exported_text()
    secrets = {client._settings.api_secret, client.api_key, "HMAC ", *more}
    leaked = sorted(secret for secret in secrets if secret in text)
    assert leaked == [], leaked


async def test_a_recovered_create_is_one_span_with_its_attempt_and_its_read_back_below() -> None:
    recording, headers = Recording(), SignedHeaders()
    emulator = CryptopayEmulator()
    rules = [Rule("POST", CREATE, ["500-after"])]
    async with scripted_client(
        emulator, rules, retry_policy=QUICK, attempt_middleware=[headers], **recording.providers
    ) as (client, _):
        invoice = await client.invoices.create(**INVOICE, custom_id="ORDER-1")
    [root] = recording.roots()
    print("\n".join(recording.tree(root)))  # the closing note's span tree (pytest -s)
    assert recording.shape(root) == [
        "invoices.create CLIENT",
        "  POST CLIENT",
        "  invoices.retrieve_by_custom_id CLIENT",
        "    GET CLIENT",
    ]
    assert dict(root.attributes or {}) == {
        "cryptopay.operation": "invoices.create",
        "http.request.method": "POST",
        "url.template": "/api/invoices",
        "server.address": "cryptopay-emulator.invalid",
        "http.response.status_code": 500,
        "cryptopay.attempts": 1,
        "cryptopay.ratelimit.wait": 0.0,
        "cryptopay.recovered": True,
        "cryptopay.recovery.outcome": "found",
    }
    post, read_back = recording.children(root)
    assert dict(post.attributes or {}) == {
        "http.request.method": "POST",
        "url.full": "http://cryptopay-emulator.invalid/api/invoices",
        "server.address": "cryptopay-emulator.invalid",
        "server.port": 80,
        "http.response.status_code": 500,
        "error.type": "500",
    }
    [get] = recording.children(read_back)
    assert (get.attributes or {})["url.full"] == (
        "http://cryptopay-emulator.invalid/api/invoices/custom_id/ORDER-1"
    )
    assert (read_back.attributes or {})["http.response.status_code"] == 200
    assert root.status.status_code.name == "UNSET"
    assert recording.points("cryptopay.client.recoveries") == [
        ({"cryptopay.operation": "invoices.create", "cryptopay.recovery.outcome": "found"}, 1)
    ]
    assert invoice.custom_id == "ORDER-1"
    assert_nothing_secret(recording, client, *headers.secrets())


@attrs.frozen
class Case:
    """A call whose attempts meet ``outcomes``; what its span and counters then say."""

    rules: list[tuple[str, str, list[str]]]  # Rule's arguments: each run uses up its own
    call: str  # "get", "create" (no custom_id) or "create_once" (with one)
    attempts: list[tuple[int | None, str | None]]  # per attempt: status, error.type
    retries: dict[str, int]
    recovery: str | None = None
    error: str | None = None
    maybe_processed: bool | None = None
    resends: list[int | None] = attrs.field()

    @resends.default
    def _one_send(self) -> list[int | None]:
        """``http.request.resend_count`` per attempt when all belong to one send."""
        return [n or None for n in range(len(self.attempts))]


CASES = {
    "503 then 200: a GET retried": Case(
        [("GET", ONE, ["503-before"])],
        "get",
        [(503, "503"), (200, None)],
        {"status_503": 1},
    ),
    "429 then 201: a POST refused before processing is repeated": Case(
        [("POST", CREATE, ["429-before"])],
        "create",
        [(429, "429"), (201, None)],
        {"status_429": 1},
    ),
    "a connection that never opened, then 200": Case(
        [("GET", ONE, ["timeout-before"])],
        "get",
        [(None, "ConnectTimeout"), (200, None)],
        {"connect": 1},
    ),
    "dropped after processing: read back, found": Case(
        [("POST", CREATE, ["drop-after"])],
        "create_once",
        [(None, "RemoteProtocolError")],
        {},
        recovery="found",
    ),
    "502 before processing: read back, not found, sent again": Case(
        [("POST", CREATE, ["502-before"]), ("GET", BY_CUSTOM_ID, ["404-before"])],
        "create_once",
        [(502, "502"), (201, None)],
        {"read_back": 1},
        recovery="resent",
        resends=[None, None],  # two sends, one attempt each
    ),
    "500 after processing, the read-back refused: unsettled": Case(
        [("POST", CREATE, ["500-after"]), ("GET", BY_CUSTOM_ID, ["403-before"])],
        "create_once",
        [(500, "500")],
        {},
        recovery="unsettled",
        error="PermissionDeniedError",
        maybe_processed=True,
    ),
    "500 on every attempt of a GET: the error": Case(
        [("GET", ONE, ["500-after"] * 3)],
        "get",
        [(500, "500")] * 3,
        {"status_500": 2},
        error="InternalServerError",
        maybe_processed=False,
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_each_attempt_is_a_child_span_and_the_operation_span_adds_them_up(
    case: Case,
) -> None:
    recording, headers = Recording(), SignedHeaders()
    emulator = CryptopayEmulator()
    invoice_id = emulator.api.call("invoices.create", {}, {}, dict(INVOICE))[0]["id"]
    rules = [Rule(method, path, list(outcomes)) for method, path, outcomes in case.rules]
    async with scripted_client(
        emulator, rules, retry_policy=QUICK, attempt_middleware=[headers], **recording.providers
    ) as (client, _):
        raised: str | None = None
        try:
            if case.call == "get":
                await client.invoices.retrieve(invoice_id)
            elif case.call == "create":
                await client.invoices.create(**INVOICE)
            else:
                await client.invoices.create(**INVOICE, custom_id="ORDER-7")
        except CryptopayError as exc:
            raised = type(exc).__name__
    assert raised == case.error
    [root] = recording.roots()
    attributes = dict(root.attributes or {})
    attempts = [s for s in recording.children(root) if s.name in ("GET", "POST")]
    assert [
        (
            (s.attributes or {}).get("http.response.status_code"),
            (s.attributes or {}).get("error.type"),
        )
        for s in attempts
    ] == case.attempts
    assert [(s.attributes or {}).get("http.request.resend_count") for s in attempts] == (
        case.resends
    )
    assert attributes["cryptopay.attempts"] == len(attempts)
    assert attributes.get("http.response.status_code") == case.attempts[-1][0]
    assert attributes.get("error.type") == case.error
    assert attributes.get("cryptopay.maybe_processed") == case.maybe_processed
    assert (root.status.status_code.name == "ERROR") == (case.error is not None)
    assert attributes.get("cryptopay.recovery.outcome") == case.recovery
    if case.recovery is not None:
        assert attributes["cryptopay.recovered"] == (case.recovery != "unsettled")
    assert dict(recording.by("cryptopay.client.retries", "cryptopay.retry.reason")) == case.retries
    durations = recording.by("http.client.request.duration", "error.type")
    assert durations == Counter(error for _, error in case.attempts) + Counter(
        # the read-backs' own attempts
        (s.attributes or {}).get("error.type")
        for child in recording.children(root)
        if child.name.startswith("invoices.")
        for s in recording.children(child)
    )
    assert_nothing_secret(recording, client, *headers.secrets())


async def test_each_page_fetched_is_a_span() -> None:
    recording = Recording()
    emulator = CryptopayEmulator()
    for n in range(60):  # the API's pages hold 50
        emulator.api.call("invoices.create", {}, {}, {**INVOICE, "custom_id": f"P-{n}"})
    async with scripted_client(emulator, [], **recording.providers) as (client, _):
        seen = [invoice.id async for invoice in client.invoices.list()]
    assert len(seen) == 60
    pages = recording.roots()
    assert [page.name for page in pages] == ["invoices.list", "invoices.list"]
    urls = [(recording.children(page)[0].attributes or {})["url.full"] for page in pages]
    assert "starting_after=" not in str(urls[0])
    assert f"starting_after={seen[49]}" in str(urls[1])


async def test_a_derived_client_records_through_the_same_providers() -> None:
    recording = Recording()
    emulator = CryptopayEmulator()
    async with scripted_client(emulator, [], **recording.providers) as (client, _):
        await client.with_options(timeout=5).coins.list()
        await client.with_raw_response.coins.list()
    assert [span.name for span in recording.roots()] == ["coins.list", "coins.list"]


async def test_metrics_add_up_to_what_a_faulty_served_emulator_counted() -> None:
    """Random 503s, 500s after processing, dropped answers and 429s from a tight window."""
    recording = Recording()
    emulator = CryptopayEmulator(
        rate_limit=40,
        rate_period=0.5,
        faults=Faults(error_503_rate=0.06, error_500_rate=0.06, drop_rate=0.06, seed=21),
    )
    calls, tasks = 120, 12
    policy = RetryPolicy(initial_backoff=0.01, max_backoff=0.1, max_retry_after=0.3)
    with serve_in_thread(emulator.asgi_app, lifespan="off") as url:
        client = AsyncCryptopay(
            api_key=emulator.api_key,
            api_secret=emulator.api_secret,
            base_url=url,
            # Looser than the server's window: some attempts are answered 429.
            rate_limiter=TokenBucket(60, 0.5),
            retry_policy=policy,
            max_retries=6,
            **recording.providers,
        )
        jobs = iter(range(calls))
        failures: Counter[str] = Counter()

        async def worker() -> None:
            for n in jobs:
                try:
                    if n % 2:
                        await client.invoices.create(**INVOICE, custom_id=f"M-{n}")
                    else:
                        await client.coins.list()
                except CryptopayError as exc:
                    failures[type(exc).__name__] += 1

        async with client:
            with anyio.fail_after(60):
                async with anyio.create_task_group() as tg:
                    for _ in range(tasks):
                        tg.start_soon(worker)

    spans = recording.spans()
    operations = [s for s in spans if "." in s.name]
    attempts = [s for s in spans if s.name in ("GET", "POST")]
    statuses = recording.by("http.client.request.duration", "http.response.status_code")
    errors = recording.by("http.client.request.duration", "error.type")
    # Every attempt the emulator saw was measured once, and traced under its operation.
    assert sum(statuses.values()) == len(attempts) == emulator.requests_seen
    assert sum(attribute(s, "cryptopay.attempts") for s in operations) == len(attempts)
    assert {a.parent.span_id for a in attempts if a.parent} <= {
        o.context.span_id for o in operations if o.context
    }
    # The emulator's error answers carry a request id, and their spans show it.
    refused = [a for a in attempts if attribute(a, "http.response.status_code", 0) >= 400]
    assert all(len(str((a.attributes or {})["cryptopay.request_id"])) == 32 for a in refused)
    assert statuses[503] == emulator.errors_answered.get(503, 0) > 0
    assert statuses[500] == emulator.errors_answered.get(500, 0) > 0
    assert statuses[429] == emulator.rate_limited > 0
    dropped = sum(n for error, n in errors.items() if error is not None and not error.isdigit())
    assert dropped == emulator.answers_dropped > 0
    # Each repeat was counted once: every attempt past an operation's first.
    assert recording.total("cryptopay.client.retries") == len(attempts) - len(operations)
    assert recording.total("cryptopay.client.operation.duration") == len(operations)
    recoveries = recording.by("cryptopay.client.recoveries", "cryptopay.recovery.outcome")
    assert recoveries == Counter(
        (s.attributes or {}).get("cryptopay.recovery.outcome")
        for s in operations
        if "cryptopay.recovery.outcome" in (s.attributes or {})
    )
    assert sum(recoveries.values()) > 0
    assert recording.total("cryptopay.ratelimit.wait") == len(attempts)
    assert recording.total("cryptopay.ratelimit.waiting") == 0
    assert sum(failures.values()) == sum(
        1 for s in operations if s.parent is None and "error.type" in (s.attributes or {})
    )
    assert recording.instruments() == {
        "http.client.request.duration": "s",
        "cryptopay.client.operation.duration": "s",
        "cryptopay.ratelimit.wait": "s",
        "cryptopay.ratelimit.waiting": "{request}",
        "cryptopay.client.retries": "{retry}",
        "cryptopay.client.recoveries": "{recovery}",
    }
    text = recording.exported_text()
    for secret in (emulator.api_secret, emulator.api_key, "HMAC ", "Authorization"):
        assert secret not in text


async def test_a_metered_limiter_still_names_its_pace_beside_a_429() -> None:
    recording = Recording()
    emulator = CryptopayEmulator()
    rules = [Rule("GET", r"/api/coins", ["429-before"])]
    async with scripted_client(
        emulator,
        rules,
        rate_limiter=TokenBucket(5, 60.0),
        max_retries=0,
        **recording.providers,
    ) as (client, _):
        with pytest.raises(CryptopayError) as raised:
            await client.coins.list()
        await client.coins.list()
    assert "this client's limiter allows 5 requests per 60 s" in str(raised.value)
    # Each attempt's wait was recorded once; nobody waits any more.
    assert recording.total("cryptopay.ratelimit.wait", cryptopay__operation="coins.list") == 2
    assert recording.points("cryptopay.ratelimit.waiting") == [({}, 0)]


async def test_callers_held_by_the_limiter_are_counted_while_they_wait() -> None:
    recording = Recording()
    emulator = CryptopayEmulator()
    async with scripted_client(
        emulator, [], rate_limiter=TokenBucket(1, 60.0), **recording.providers
    ) as (client, _):
        await client.coins.list()  # takes the only slot of the minute
        async with anyio.create_task_group() as tg:
            for _ in range(2):
                tg.start_soon(client.coins.list)
            await wait_all_tasks_blocked()  # both are held in the limiter now
            assert Recording.waiting(recording.reader.get_metrics_data()) == 2
            tg.cancel_scope.cancel()
    assert recording.points("cryptopay.ratelimit.waiting") == [({}, 0)]
