from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptopay_async import AsyncCryptopay, SignatureVerificationError
from cryptopay_async.callbacks import (
    CallbackPayloadError,
    CallbackReceiver,
    ChannelPaymentCallback,
    ChannelPaymentCallbackEvent,
    CoinWithdrawalCallback,
    InvoiceCallback,
    InvoiceCallbackEvent,
    SubscriptionCallback,
    UnknownCallback,
    signature_for,
    verify,
)
from cryptopay_async.callbacks._dedupe import delivery_key
from cryptopay_async.callbacks._verify import MAX_DEPTH
from cryptopay_async.models import Invoice, InvoiceStatus
from tests.support import API_SPEC, CALLBACK_SECRET, FIXTURES, fixture_bytes

VECTORS = json.loads((API_SPEC / "test-vectors.json").read_text())["callback_signing"]
CHECKABLE = [v for v in VECTORS if v.get("reproducible", True)]

# Every callback body recorded, and what it must decode to.
BODIES: list[tuple[str, type, str]] = [
    ("channel-payment-completed.json", ChannelPaymentCallback, "completed"),
    ("channel-payment-created.json", ChannelPaymentCallback, "created"),
    ("coin-withdrawal-created.json", CoinWithdrawalCallback, "created"),
    ("coin-withdrawal-status-changed.json", CoinWithdrawalCallback, "status_changed"),
    ("invoice-status-changed.json", InvoiceCallback, "status_changed"),
    ("invoice-status-changed.node-signed.json", InvoiceCallback, "status_changed"),
    ("invoice-transaction-created.json", InvoiceCallback, "transaction_created"),
    ("subscription-paid.docs.json", SubscriptionCallback, "paid"),
]
MALFORMED = ["invalid-body.php.txt", "legacy-invoice-data-only.php.json"]


def test_the_tables_cover_every_callback_fixture() -> None:
    names = {p.name for p in (FIXTURES / "callbacks").iterdir()}
    assert names == {b[0] for b in BODIES} | set(MALFORMED)


@pytest.mark.parametrize(("name", "cls", "event"), BODIES, ids=[b[0] for b in BODIES])
def test_every_recorded_callback_verifies_and_decodes(name: str, cls: type, event: str) -> None:
    body = fixture_bytes(f"callbacks/{name}")
    result = verify(body, signature_for(body, CALLBACK_SECRET), secret=CALLBACK_SECRET)
    assert type(result) is cls
    assert result.event == event
    assert type(result.event) is not str  # a known event is the enum member
    assert not isinstance(result, UnknownCallback)
    assert result.data.id == json.loads(body)["data"]["id"]


@pytest.mark.parametrize("name", MALFORMED)
def test_signed_but_malformed_bodies_raise_a_typed_error(name: str) -> None:
    body = fixture_bytes(f"callbacks/{name}")
    with pytest.raises(CallbackPayloadError):
        verify(body, signature_for(body, CALLBACK_SECRET), secret=CALLBACK_SECRET)


@pytest.mark.parametrize("vector", CHECKABLE, ids=[v["name"] for v in CHECKABLE])
def test_every_published_callback_vector(vector: dict[str, Any]) -> None:
    body = vector["body"].encode()
    if "body_file" in vector:
        assert fixture_bytes(vector["body_file"].removeprefix("fixtures/")) == body
    signature = vector["signature_header"]
    if not vector["valid"]:
        with pytest.raises(SignatureVerificationError):
            verify(body, signature, secret=vector["callback_secret"])
        assert signature_for(body, vector["callback_secret"]) == vector["actual_hmac"]
        return
    assert signature_for(body, vector["callback_secret"]) == signature
    try:
        event = verify(body, signature, secret=vector["callback_secret"])
    except CallbackPayloadError:
        assert "type" not in json.loads(body)  # a signed test body that is not a callback
    else:
        assert isinstance(event, InvoiceCallback)


def test_the_node_signed_body_decodes_into_an_invoice() -> None:
    vector = next(v for v in VECTORS if v["name"] == "node-valid")
    event = verify(
        vector["body"].encode(), vector["signature_header"], secret=vector["callback_secret"]
    )
    assert isinstance(event, InvoiceCallback)
    assert event.event is InvoiceCallbackEvent.STATUS_CHANGED
    assert event.data.status is InvoiceStatus.COMPLETED
    assert event.data.paid_amount == Decimal("3.113326")
    assert event.data.fee is None  # callbacks omit it: lenient, not an error


SIGNED = fixture_bytes("callbacks/invoice-transaction-created.json")


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        signature_for(SIGNED, "another-secret"),
        "zz",
        signature_for(SIGNED, CALLBACK_SECRET)[:-1],
    ],
)
def test_missing_empty_or_wrong_signatures_are_refused(signature: str | None) -> None:
    with pytest.raises(SignatureVerificationError):
        verify(SIGNED, signature, secret=CALLBACK_SECRET)


def test_one_changed_byte_breaks_the_signature() -> None:
    signature = signature_for(SIGNED, CALLBACK_SECRET)
    tampered = SIGNED.replace(b'"paid_amount":"12.271023"', b'"paid_amount":"99.271023"')
    assert tampered != SIGNED
    with pytest.raises(SignatureVerificationError):
        verify(tampered, signature, secret=CALLBACK_SECRET)


@pytest.mark.parametrize("parsed", [json.loads(SIGNED), [1], 42, None])
def test_parsed_bodies_are_refused_with_an_explanation(parsed: object) -> None:
    with pytest.raises(TypeError, match="raw request body"):
        verify(parsed, "00", secret=CALLBACK_SECRET)  # type: ignore[arg-type]


def test_bytearray_memoryview_and_str_bodies_are_accepted() -> None:
    signature = signature_for(SIGNED, CALLBACK_SECRET)
    for body in (bytearray(SIGNED), memoryview(SIGNED), SIGNED.decode()):
        assert isinstance(verify(body, signature, secret=CALLBACK_SECRET), InvoiceCallback)


def test_unknown_types_keep_the_raw_data_and_unknown_events_the_string() -> None:
    body = b'{"type":"Payout2027","event":"teleported","data":{"id":"x","amount":"1"}}'
    event = verify(body, signature_for(body, CALLBACK_SECRET), secret=CALLBACK_SECRET)
    assert event == UnknownCallback(
        type="Payout2027", event="teleported", data={"id": "x", "amount": "1"}
    )
    data = json.loads(fixture_bytes("callbacks/channel-payment-created.json"))
    body = json.dumps({**data, "event": "refund_requested"}).encode()
    later = verify(body, signature_for(body, CALLBACK_SECRET), secret=CALLBACK_SECRET)
    assert isinstance(later, ChannelPaymentCallback)
    assert later.event == "refund_requested"


@pytest.mark.parametrize(
    "document",
    [
        {"type": "Invoice", "event": "created", "data": {"id": "only-an-id"}},
        {"type": "Invoice", "event": 1, "data": {}},
        {"type": "Invoice", "event": "created", "data": []},
    ],
)
def test_envelopes_with_bad_content_raise_a_typed_error(document: dict[str, Any]) -> None:
    body = json.dumps(document).encode()
    with pytest.raises(CallbackPayloadError):
        verify(body, signature_for(body, CALLBACK_SECRET), secret=CALLBACK_SECRET)


def describe(event: object) -> str:
    match event:
        case InvoiceCallback(
            event=InvoiceCallbackEvent.STATUS_CHANGED, data=Invoice(status=status)
        ):
            return f"invoice now {status}"
        case ChannelPaymentCallback(event=ChannelPaymentCallbackEvent.COMPLETED, data=payment):
            return f"channel payment {payment.received_amount} {payment.received_currency}"
        case CoinWithdrawalCallback(event=event_name):
            return f"withdrawal {event_name}"
        case UnknownCallback(type=kind):
            return f"unknown {kind}"
    return "other"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("invoice-status-changed.json", "invoice now completed"),
        ("channel-payment-completed.json", "channel payment"),
        ("coin-withdrawal-created.json", "withdrawal created"),
        ("invoice-transaction-created.json", "other"),
    ],
)
def test_structural_pattern_matching(name: str, expected: str) -> None:
    body = fixture_bytes(f"callbacks/{name}")
    event = verify(body, signature_for(body, CALLBACK_SECRET), secret=CALLBACK_SECRET)
    assert describe(event).startswith(expected)


def test_client_verifies_with_its_own_secret_or_says_it_has_none() -> None:
    signature = signature_for(SIGNED, CALLBACK_SECRET)
    with_secret = AsyncCryptopay(api_key="k", api_secret="s", callback_secret=CALLBACK_SECRET)
    assert isinstance(with_secret.callbacks.verify(SIGNED, signature), InvoiceCallback)
    without = AsyncCryptopay(api_key="k", api_secret="s")
    with pytest.raises(ValueError, match=r"callback_secret.*CRYPTOPAY_CALLBACK_SECRET"):
        without.callbacks.verify(SIGNED, signature)


def test_verify_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        verify(SIGNED, "00", secret="")


def bodies_dir() -> Path:
    return FIXTURES / "callbacks"


def nested(kind: str, depth: int) -> bytes:
    """A callback whose ``data`` holds objects ``depth`` levels deep."""
    inner = '{"a":' * depth + "1" + "}" * depth
    return f'{{"type":"{kind}","event":"created","data":{inner}}}'.encode()


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["Invoice", "Payout2027"])
@pytest.mark.parametrize("depth", [MAX_DEPTH, 300, 900, 5000])
async def test_deeply_nested_callbacks_are_refused_as_malformed(kind: str, depth: int) -> None:
    body = nested(kind, depth)
    signature = signature_for(body, CALLBACK_SECRET)
    with pytest.raises(CallbackPayloadError, match=r"nested deeper than 32|not JSON"):
        verify(body, signature, secret=CALLBACK_SECRET)
    receiver = CallbackReceiver(lambda event: anyio.lowlevel.checkpoint(), secret=CALLBACK_SECRET)
    assert (await receiver.receive(body, signature)).status == 400


def test_callbacks_up_to_the_depth_limit_are_read() -> None:
    body = nested("Payout2027", MAX_DEPTH - 2)  # the document and data are two levels
    event = verify(body, signature_for(body, CALLBACK_SECRET), secret=CALLBACK_SECRET)
    assert isinstance(event, UnknownCallback)


@pytest.mark.parametrize(
    "signature",
    ["\udcff\udcfe", "\udcff" * 64, "é" * 64, "\u0663" * 64, "ÿþ", " \t"],
    ids=["surrogate-escaped-bytes", "surrogates", "latin-1", "arabic-digits", "xff-xfe", "blank"],
)
def test_signature_headers_that_are_not_ascii_hex_are_refused(signature: str) -> None:
    with pytest.raises(SignatureVerificationError):
        verify(SIGNED, signature, secret=CALLBACK_SECRET)


def test_a_str_body_decoded_with_surrogateescape_verifies_as_its_bytes() -> None:
    body = SIGNED + b"\xff"  # not UTF-8: the signature passes, then the body is refused
    text = body.decode("utf-8", "surrogateescape")
    signature = signature_for(body, CALLBACK_SECRET)
    with pytest.raises(CallbackPayloadError, match="not JSON"):
        verify(text, signature, secret=CALLBACK_SECRET)
    with pytest.raises(SignatureVerificationError, match="not the body that was signed"):
        verify("\ud800" + text, signature, secret=CALLBACK_SECRET)


json_documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
callback_shaped = st.fixed_dictionaries(
    {"type": st.sampled_from(["Invoice", "ChannelPayment", "Unknown"]) | st.text()},
    optional={"event": json_documents, "data": json_documents},
).map(lambda d: json.dumps(d).encode())
recorded = st.sampled_from([b[0] for b in BODIES]).map(lambda n: fixture_bytes(f"callbacks/{n}"))
bodies = st.one_of(
    st.binary(max_size=200),
    callback_shaped,
    recorded,
    recorded.flatmap(lambda b: st.integers(0, len(b)).map(lambda i: b[:i])),
    st.integers(0, 3000).map(lambda depth: nested("Unknown", depth)),
)
headers = st.one_of(
    st.none(), st.text(alphabet=st.characters(exclude_categories=())), st.just("sign")
)


@settings(max_examples=500, deadline=None)
@given(body=bodies, header=headers)
def test_any_body_and_header_give_an_event_or_a_typed_refusal(
    body: bytes, header: str | None
) -> None:
    signature = signature_for(body, CALLBACK_SECRET) if header == "sign" else header
    try:
        event = verify(body, signature, secret=CALLBACK_SECRET)
    except (SignatureVerificationError, CallbackPayloadError) as exc:
        refusal: Exception | None = exc
    else:
        refusal = None
        assert isinstance(
            event,
            InvoiceCallback
            | ChannelPaymentCallback
            | CoinWithdrawalCallback
            | SubscriptionCallback
            | UnknownCallback,
        )
        delivery_key(event)  # deduplication can key every event it is given
    if header != "sign":
        assert isinstance(refusal, SignatureVerificationError)
    receiver = CallbackReceiver(lambda event: anyio.lowlevel.checkpoint(), secret=CALLBACK_SECRET)
    outcome = anyio.run(receiver.receive, body, signature)
    assert outcome.status == (400 if refusal else 200)
