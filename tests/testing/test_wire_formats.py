"""The emulator's bytes against the recorded ones: compact JSON, list items, error details,
and amounts sent as JSON numbers (as the Node and Java SDKs send them)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptopay_async._signing import sign
from cryptopay_async.callbacks import signature_for, verify
from cryptopay_async.testing import CryptopayEmulator
from tests.support import fixture_bytes, fixture_json

pytestmark = pytest.mark.anyio


def compact(body: bytes) -> bytes:
    return json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()


class Raw:
    """Signed requests straight to the emulator's ASGI app, answers as bytes."""

    def __init__(self, emulator: CryptopayEmulator) -> None:
        self.emulator = emulator

    async def __call__(
        self, method: str, path: str, body: Any = None, content: bytes | None = None
    ) -> httpx.Response:
        if content is None:
            content = b"" if body is None else json.dumps(body).encode()
        date = format_datetime(datetime.now(UTC), usegmt=True)
        signature = sign(self.emulator.api_secret, method, content, date, path)
        headers = {
            "Date": date,
            "Content-Type": "application/json",
            "Authorization": f"HMAC {self.emulator.api_key}:{signature}",
        }
        transport = httpx.ASGITransport(app=self.emulator.asgi_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
            return await http.request(method, path, content=content, headers=headers)


@pytest.fixture
def raw() -> Raw:
    return Raw(CryptopayEmulator())


INVOICE = {"price_amount": "10", "price_currency": "EUR", "pay_currency": "BTC"}


# ---- compact JSON ------------------------------------------------------------------------


def test_the_recordings_are_compact() -> None:
    for name in ("responses-2023/invoices/create.json", "responses-2023/channels/list.json"):
        assert compact(fixture_bytes(name)) == fixture_bytes(name).strip()
    signed = fixture_bytes("callbacks/invoice-status-changed.node-signed.json")
    assert compact(signed) == signed


async def test_answers_are_compact_json(raw: Raw) -> None:
    created = await raw("POST", "/api/invoices", INVOICE)
    listed = await raw("GET", "/api/invoices")
    missing = await raw("GET", "/api/invoices/00000000-0000-4000-8000-000000000000")
    for answer in (created, listed, missing):
        assert answer.content == compact(answer.content)
        assert b", " not in answer.content
        assert b'": ' not in answer.content
    assert created.content.startswith(b'{"data":{"id":"')


async def test_callbacks_are_compact_so_a_reserialized_body_still_verifies() -> None:
    emulator = CryptopayEmulator(callback_url="http://127.0.0.1:9/unused")
    async with emulator.client(rate_limiter=None) as client:
        await client.invoices.create(price_amount="10", price_currency="EUR", pay_currency="BTC")
    body = emulator.webhooks.deliveries[0].body
    assert body.startswith(b'{"type":"Invoice","event":"created","data":{"id":"')
    assert compact(body) == body
    signature = signature_for(body, emulator.callback_secret)
    event = verify(compact(body), signature, secret=emulator.callback_secret)
    assert event.type == "Invoice"


# ---- channels.list_payments ---------------------------------------------------------------


async def test_list_payments_items_carry_exchange_when_completed_not_on_hold(raw: Raw) -> None:
    emulator = raw.emulator
    channel = (
        await raw(
            "POST",
            "/api/channels",
            {"name": "c", "pay_currency": "BTC", "receiver_currency": "EUR"},
        )
    ).json()["data"]
    emulator.pay_channel(channel["id"], "0.001")
    await raw("PATCH", f"/api/channels/{channel['id']}", {"status": "disabled"})
    emulator.pay_channel(channel["id"], "0.002")
    items = (await raw("GET", f"/api/channels/{channel['id']}/payments")).json()["data"]
    recorded = fixture_json("responses-2023/channels/list_payments.json")["data"]
    want = {item["status"]: list(item) for item in recorded}
    got = {item["status"]: list(item) for item in items}
    assert got == {"on_hold": want["on_hold"], "completed": want["completed"]}  # keys, in order
    held = next(item for item in items if item["status"] == "on_hold")
    assert (held["received_amount"], held["fee"], held["status_context"]) == (
        "0.0",
        "0.0",
        "channel_disabled",
    )
    done = next(item for item in items if item["status"] == "completed")
    assert list(done["exchange"]) == ["pair", "rate", "fee", "fee_currency"]


# ---- error details as recorded ------------------------------------------------------------

WITHDRAWAL = {"address": "2Mz3", "charged_currency": "EUR", "received_currency": "BTC"}


@pytest.mark.parametrize(
    ("recording", "method", "path", "body"),
    [
        (
            "errors/422-invalid-must_be_uuid-account_id.json",
            "GET",
            "/api/accounts/nope/transactions",
            None,
        ),
        ("errors/422-invalid-must_be_uuid-channel_id.json", "GET", "/api/channels/nope", None),
        (
            "errors/422-invalid-must_be_uuid-starting_after.json",
            "GET",
            "/api/invoices?starting_after=nope",
            None,
        ),
        (
            "errors/422-invalid-must_be_included_in.json",
            "POST",
            "/api/risks/score",
            {"address": "x", "currency": "DOGE", "type": "source_of_funds"},
        ),
        (
            "errors/422-invalid-invalid_coin_address.json",
            "POST",
            "/api/coin_withdrawals",
            {**WITHDRAWAL, "address": "invalid-address", "charged_amount": "10"},
        ),
        (
            "errors/422-invalid-must_be_greater_than_or_equal.json",
            "POST",
            "/api/coin_withdrawals",
            {**WITHDRAWAL, "charged_amount_to_send": "1"},
        ),
        ("errors/404-not_found.json", "GET", "/api/customers/nobody", None),
        (
            "errors/422-high_risk_address.json",
            "POST",
            "/api/coin_withdrawals",
            {**WITHDRAWAL, "address": "risky-mixer", "charged_amount": "10"},
        ),
    ],
)
async def test_error_bodies_match_the_recordings(
    raw: Raw, recording: str, method: str, path: str, body: Any
) -> None:
    answer = await raw(method, path, body)
    want = fixture_json(recording)["error"]
    got = answer.json()["error"]
    assert got == want
    assert answer.status_code == int(recording.split("/")[1][:3])


async def test_the_balance_limit_detail_has_the_recorded_shape(raw: Raw) -> None:
    answer = await raw("POST", "/api/coin_withdrawals", {**WITHDRAWAL, "charged_amount": "1e9"})
    recorded = fixture_json("errors/422-invalid-must_be_less_than_or_equal.json")["error"]
    detail, want = answer.json()["error"]["details"][0], recorded["details"][0]
    assert (detail["code"], detail["target"]) == (want["code"], want["target"])
    assert detail["message"] == f"must be less than or equal to {detail['args']['value']}"
    assert set(detail["args"]) == set(want["args"])


async def test_a_reused_custom_id_is_the_recorded_409(raw: Raw) -> None:
    await raw("POST", "/api/invoices", {**INVOICE, "custom_id": "ONCE"})
    again = await raw("POST", "/api/invoices", {**INVOICE, "custom_id": "ONCE"})
    assert again.status_code == 409
    assert again.json()["error"] == fixture_json("errors/409-duplicate_custom_id.json")["error"]


# ---- amounts as JSON numbers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_number", "as_string"), [(10, "10"), (10.5, "10.5"), (0.1, "0.1"), (1e2, "100")]
)
async def test_amounts_sent_as_numbers_are_read_like_decimal_strings(
    raw: Raw, as_number: float, as_string: str
) -> None:
    by_number = (await raw("POST", "/api/invoices", {**INVOICE, "price_amount": as_number})).json()
    by_string = (await raw("POST", "/api/invoices", {**INVOICE, "price_amount": as_string})).json()
    for field in ("price_amount", "pay_amount", "fee"):
        assert by_number["data"][field] == by_string["data"][field], field


async def test_a_long_fraction_sent_as_a_number_stays_exact(raw: Raw) -> None:
    # More digits than a float holds: read as a decimal, not through float.
    content = (
        b'{"charged_currency":"EUR","received_currency":"EUR",'
        b'"received_amount":10.129999999999999999}'
    )
    answer = await raw("POST", "/api/exchange_transfers", content=content)
    assert answer.status_code == 201, answer.text
    data = answer.json()["data"]
    # Two places for EUR, rounded down from the exact value (as a float it is 10.13).
    assert data["received_amount"] == "10.12"
    assert data["charged_amount"] == "11.12"  # plus the 1 EUR fee


@pytest.mark.parametrize("bad", [True, None, "ten", [10], {"v": 10}, "1e400", "NaN", -1, 0, 1e300])
async def test_bad_amounts_are_422_naming_the_field(raw: Raw, bad: Any) -> None:
    answer = await raw("POST", "/api/invoices", {**INVOICE, "price_amount": bad})
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["target"] == "price_amount"


# ---- nothing a client sends makes the emulator answer 500 ----------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["EUR", "BTC", "10", "bitcoin", "2Mz3", "month"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
FIELDS = [
    "price_amount",
    "price_currency",
    "pay_currency",
    "network",
    "custom_id",
    "metadata",
    "name",
    "address",
    "charged_currency",
    "received_currency",
    "charged_amount",
    "received_amount",
    "network_fee_level",
    "force_commit",
    "receiver_currency",
    "id",
    "currency",
    "addresses",
    "amount",
    "period",
    "period_quantity",
    "payer_email",
    "starts_at",
    "status",
]
CREATES = [
    ("POST", "/api/invoices"),
    ("POST", "/api/channels"),
    ("POST", "/api/coin_withdrawals"),
    ("POST", "/api/customers"),
    ("POST", "/api/exchange_transfers"),
    ("POST", "/api/subscriptions"),
    ("POST", "/api/risks/score"),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    target=st.sampled_from(CREATES),
    body=st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=8),
)
def test_any_body_gets_an_answer_never_a_500(target: tuple[str, str], body: dict[str, Any]) -> None:
    import anyio

    async def call() -> httpx.Response:
        return await Raw(CryptopayEmulator())(*target, body)

    answer = anyio.run(call)
    assert answer.status_code < 500, answer.text
    assert answer.content == compact(answer.content)
