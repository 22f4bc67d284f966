"""Unknown response fields are kept in ``extra_fields`` at every nesting level, on both engines."""

from __future__ import annotations

import copy
import gc
import inspect
import json
import operator
import pickle
import random
import sys
import threading
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import anyio
import anyio.lowlevel
import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptopay_async._decoding import _engines as _decoding
from cryptopay_async.callbacks import InvoiceCallback
from cryptopay_async.models import Invoice, Rate, to_dict
from tests.support import fixture_json

INVOICE = fixture_json("responses-2023/invoices/retrieve.json")["data"]
KNOWN = {"id", "status", "exchange", "transactions", "txid", "risk", "pair", "rate", "fee"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
extra_keys = st.dictionaries(
    st.text(min_size=1, max_size=12).filter(
        lambda key: key not in KNOWN and not key.startswith("_")
    ),
    json_values,
    max_size=3,
)


def with_extras(top: dict[str, Any], exchange: dict[str, Any], transaction: dict[str, Any]) -> Any:
    invoice = json.loads(json.dumps(INVOICE))
    invoice.setdefault(
        "exchange", {"pair": "BTCEUR", "rate": "1.5", "fee": "0", "fee_currency": "EUR"}
    )
    invoice["transactions"] = [{"txid": "t1", "risk": None}]
    invoice.update({k: v for k, v in top.items() if k not in invoice})
    invoice["exchange"].update({k: v for k, v in exchange.items() if k not in invoice["exchange"]})
    invoice["transactions"][0].update(transaction)
    return invoice


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(top=extra_keys, exchange=extra_keys, transaction=extra_keys)
def test_unknown_keys_survive_at_every_level(
    engine: _decoding.Engine, top: Any, exchange: Any, transaction: Any
) -> None:
    invoice = with_extras(top, exchange, transaction)
    body = json.dumps({"data": [invoice, invoice]}).encode()
    data, _ = engine.envelope(body, list[Invoice])
    expected_top = {k: v for k, v in top.items() if k not in INVOICE and k not in KNOWN}
    for decoded in data:
        assert dict(decoded.extra_fields) == expected_top
        assert decoded.exchange is not None
        expected_exchange = {
            k: invoice["exchange"][k]
            for k in exchange
            if k not in ("pair", "rate", "fee", "fee_currency")
        }
        assert dict(decoded.exchange.extra_fields) == expected_exchange
        assert dict(decoded.transactions[0].extra_fields) == transaction
        dumped = to_dict(decoded)
        for key, value in expected_top.items():
            assert dumped[key] == value


@pytest.mark.parametrize("kind", ["document", "envelope"])
def test_a_model_without_unknown_keys_has_an_empty_read_only_mapping(
    engine: _decoding.Engine, kind: str
) -> None:
    body = json.dumps({"data": INVOICE}).encode()
    invoice = (
        engine.envelope(body, Invoice)[0]
        if kind == "envelope"
        else engine.document(json.dumps(INVOICE).encode(), Invoice)
    )
    assert invoice.extra_fields == {}
    with pytest.raises(TypeError):
        operator.setitem(invoice.extra_fields, "x", 1)


def test_fractional_numbers_stay_exact_and_to_dict_is_json_ready(engine: _decoding.Engine) -> None:
    rate = {"buy_rate": "1.0", "sell_rate": "2.0", "surcharge": 0.1}
    decoded = engine.document(json.dumps(rate).encode(), Rate)
    assert decoded.extra_fields == {"surcharge": Decimal("0.1")}
    assert to_dict(decoded)["surcharge"] == "0.1"


def test_to_dict_copies_an_unknown_value_nested_as_deep_as_the_decoders_accept(
    engine: _decoding.Engine,
) -> None:
    depth = 700
    nested = '{"a": ' * depth + "[0.5]" + "}" * depth
    body = f'{{"buy_rate": "1.0", "sell_rate": "2.0", "deep": {nested}, "n": 1.25}}'
    rate = engine.document(body.encode(), Rate)
    dumped = to_dict(rate)
    assert dumped["n"] == "1.25"
    value, levels = dumped["deep"], 0
    while isinstance(value, dict):
        value, levels = value["a"], levels + 1
    assert (levels, value) == (depth, ["0.5"])
    kept = rate.extra_fields["deep"]  # the model's own values are untouched
    while isinstance(kept, dict):
        kept = kept["a"]
    assert (rate.extra_fields["n"], kept) == (Decimal("1.25"), [Decimal("0.5")])


def test_a_model_made_by_hand_has_no_extra_fields() -> None:
    body = json.dumps({"data": {**INVOICE, "brand_new": 1}}).encode()
    decoded = _decoding.engine.envelope(body, Invoice)[0]
    assert decoded.extra_fields == {"brand_new": 1}
    import attrs

    assert attrs.evolve(decoded).extra_fields == {}
    assert decoded == attrs.evolve(decoded)  # equality looks at the modelled fields


@pytest.mark.parametrize(
    "duplicate",
    [lambda m: pickle.loads(pickle.dumps(m)), copy.copy, copy.deepcopy],
    ids=["pickle", "copy", "deepcopy"],
)
@pytest.mark.parametrize("read_first", [False, True], ids=["unread", "read"])
def test_a_pickled_or_copied_model_keeps_its_unknown_keys(
    engine: _decoding.Engine, duplicate: Callable[[Any], Any], read_first: bool
) -> None:
    data, _ = engine.envelope(page_with_extras_everywhere(), list[Invoice])
    if read_first:
        assert data[1].extra_fields == {"top_new": 1}
    invoice = duplicate(data[1])
    del data
    gc.collect()
    assert invoice == invoice.__class__(**attrs.asdict(invoice, recurse=False))
    assert invoice.extra_fields == {"top_new": 1}
    assert invoice.exchange is not None
    assert invoice.exchange.extra_fields == {"exchange_new": 2}
    assert invoice.transactions[0].risk.extra_fields == {"risk_new": 4}
    assert to_dict(invoice)["top_new"] == 1
    assert duplicate(Rate(buy_rate=Decimal(1), sell_rate=Decimal(2))).extra_fields == {}


def test_a_nested_model_read_first_finds_its_own_unknown_keys(engine: _decoding.Engine) -> None:
    invoice = with_extras({"top_new": 1}, {"exchange_new": 2}, {"transaction_new": 3})
    body = json.dumps({"data": [invoice, invoice]}).encode()
    data, _ = engine.envelope(body, list[Invoice])
    assert data[1].transactions[0].extra_fields == {"transaction_new": 3}
    assert data[0].exchange is not None
    assert data[0].exchange.extra_fields == {"exchange_new": 2}
    assert [item.extra_fields for item in data] == [{"top_new": 1}, {"top_new": 1}]


RISK = fixture_json("responses-2023/risks/score.json")["data"]
KEPT: dict[str, tuple[Callable[[Any], Any], dict[str, Any]]] = {
    # where a model sits in a page of two invoices: how to reach it, the keys it was sent
    "data[1]": (lambda data: data[1], {"top_new": 1}),
    "data[0].exchange": (lambda data: data[0].exchange, {"exchange_new": 2}),
    "data[1].transactions[0]": (lambda data: data[1].transactions[0], {"transaction_new": 3}),
    "data[1].transactions[0].risk": (lambda data: data[1].transactions[0].risk, {"risk_new": 4}),
}


def page_with_extras_everywhere(count: int = 2) -> bytes:
    invoice = with_extras({"top_new": 1}, {"exchange_new": 2}, {"transaction_new": 3})
    invoice["transactions"][0]["risk"] = {**RISK, "risk_new": 4}
    return json.dumps({"data": [invoice] * count}).encode()


@pytest.mark.parametrize("where", KEPT)
def test_a_model_kept_after_its_page_was_dropped_still_has_its_unknown_keys(
    engine: _decoding.Engine, where: str
) -> None:
    reach, expected = KEPT[where]
    data, _ = engine.envelope(page_with_extras_everywhere(), list[Invoice])
    kept = reach(data)
    del data
    gc.collect()
    assert kept.extra_fields == expected


def test_a_callback_s_nested_model_kept_alone_has_its_unknown_keys(
    engine: _decoding.Engine,
) -> None:
    invoice = with_extras({}, {"exchange_new": 2}, {})
    body = json.dumps({"type": "Invoice", "event": "created", "data": invoice, "sent_by": "x"})
    callback = engine.document(body.encode(), InvoiceCallback)
    exchange = callback.data.exchange
    del callback
    gc.collect()
    assert exchange is not None
    assert exchange.extra_fields == {"exchange_new": 2}


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    top=extra_keys,
    exchange=extra_keys,
    transaction=extra_keys,
    risk=extra_keys,
    keep=st.lists(st.sampled_from(sorted(KEPT)), unique=True),
)
def test_both_engines_agree_on_any_model_kept_from_any_page(
    top: Any, exchange: Any, transaction: Any, risk: Any, keep: list[str]
) -> None:
    invoice = with_extras(top, exchange, transaction)
    invoice["transactions"][0]["risk"] = {**RISK, **risk}
    body = json.dumps({"data": [invoice, invoice]}).encode()
    seen: dict[str, list[dict[str, Any]]] = {}
    for engine in _decoding.ENGINES.values():
        data, _ = engine.envelope(body, list[Invoice])
        kept = [KEPT[where][0](data) for where in keep]
        del data
        gc.collect()
        seen[engine.name] = [dict(model.extra_fields) for model in kept]
    assert seen["msgspec"] == seen["cattrs"]
    assert len(seen["cattrs"]) == len(keep)


class CountingParser:
    """The msgspec engine's second parse (for ``extra_fields``) of ``list[Invoice]`` pages,
    counted."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.engine = _decoding.ENGINES["msgspec"]
        self.parsed: list[bytes] = []
        self.engine.envelope(b'{"data": []}', list[Invoice])  # builds the type's decoder
        places = self.engine._decoders._envelopes[list[Invoice]][1]  # type: ignore[attr-defined]
        real = places.parse

        def parse(raw: bytes) -> Any:
            self.parsed.append(raw)
            return real(raw)

        monkeypatch.setattr(places, "parse", parse)


def test_reading_one_answer_parses_no_other(monkeypatch: pytest.MonkeyPatch) -> None:
    counting = CountingParser(monkeypatch)
    pages = [
        counting.engine.envelope(page_with_extras_everywhere(count), list[Invoice])[0]
        for count in (2, 3)
    ]
    assert pages[0][0].exchange is not None
    assert pages[0][0].exchange.extra_fields == {"exchange_new": 2}
    assert [item.transactions[0].extra_fields for item in pages[0]] == [{"transaction_new": 3}] * 2
    assert counting.parsed == [page_with_extras_everywhere(2)]  # once, and only the page asked


@pytest.mark.parametrize(
    ("value", "reason"),
    [(b'"\xff"', "utf-8"), (b"1" * 5000, "digits")],
    ids=["invalid UTF-8", "an integer of 5,000 digits"],
)
def test_an_unknown_value_that_is_not_json_is_reported_never_dropped(
    monkeypatch: pytest.MonkeyPatch, value: bytes, reason: str
) -> None:
    """msgspec skips the values of unknown keys unread; the core engine refuses the body."""
    invoice = json.dumps(with_extras({}, {}, {})).encode()
    body = b'{"data": [' + invoice[:-1] + b', "note": ' + value + b"}, " + invoice + b"]}"
    with pytest.raises(_decoding.DecodeError, match="not JSON"):
        _decoding.ENGINES["cattrs"].envelope(body, list[Invoice])
    counting = CountingParser(monkeypatch)
    data, _ = counting.engine.envelope(body, list[Invoice])
    assert data[1].exchange is not None
    for model in (data[0], data[1], data[1].exchange, data[0]):
        with pytest.raises(ValueError, match=f"extra_fields cannot be read: .*{reason}"):
            model.extra_fields  # noqa: B018
    with pytest.raises(ValueError, match="extra_fields cannot be read"):
        to_dict(data[1])
    assert len(counting.parsed) == 1  # the failure is kept, not parsed again


def test_a_first_read_from_a_deep_call_stack_fails_that_read_only(engine: _decoding.Engine) -> None:
    """How deep a body may nest depends on the reader's stack: a failure there is not kept."""
    nested = b"[" * 60 + b"]" * 60
    body = b'{"data": {"buy_rate": "1", "sell_rate": "2", "x": ' + nested + b"}}"
    rate, _ = engine.envelope(body, Rate)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + 30)  # the parse needs 60 levels more
    try:
        outcome = "read"
        try:
            rate.extra_fields  # noqa: B018
        except ValueError as exc:
            outcome = str(exc)
    finally:
        sys.setrecursionlimit(limit)
    expected = {"cattrs": "read", "msgspec": "extra_fields cannot be read: the body is nested"}
    assert outcome.startswith(expected[engine.name])
    assert rate.extra_fields == {"x": json.loads(nested)}  # read again, now from the top


def test_large_integers_and_exact_fractions_are_the_same_on_both_engines() -> None:
    body = json.dumps({"data": with_extras({"big": 2**70, "fraction": 0.1}, {"e": 1e400}, {})})
    found = []
    for engine in _decoding.ENGINES.values():
        invoice, _ = engine.envelope(body.replace("Infinity", "1e400").encode(), Invoice)
        assert invoice.exchange is not None
        found.append((dict(invoice.extra_fields), dict(invoice.exchange.extra_fields)))
    assert found[0] == found[1]
    assert found[0][0] == {"big": 2**70, "fraction": Decimal("0.1")}
    assert found[0][1] == {"e": Decimal("1e400")}


def page_with_one_new_key(count: int = 100) -> bytes:
    """``count`` invoices with an exchange and a transaction; only the first has a key
    the SDK does not know."""
    plain = with_extras({}, {}, {})
    return json.dumps({"data": [{**plain, "top_new": 1}] + [plain] * (count - 1)}).encode()


def retained_after(keep: Callable[[list[Invoice]], Any], engine: _decoding.Engine) -> int:
    """Bytes still allocated after decoding ``page_with_one_new_key``, running ``keep`` on
    it (what it returns is kept) and dropping the page."""
    body = page_with_one_new_key()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        data, _ = engine.envelope(bytes(bytearray(body)), list[Invoice])  # counted: a new copy
        kept = keep(data)
        del data
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert kept is not None
    return after - before


def test_a_kept_model_holds_at_most_the_body_and_after_a_read_only_its_keys(
    engine: _decoding.Engine,
) -> None:
    size = len(page_with_one_new_key())
    unread = retained_after(lambda data: data[5].exchange, engine)
    assert unread < 1.2 * size  # the body's bytes at most, until some model is read

    def read_one_keep_another(data: list[Invoice]) -> Any:
        assert data[0].extra_fields == {"top_new": 1}
        return data[5].exchange

    assert retained_after(read_one_keep_another, engine) < 0.1 * size  # not the page


@pytest.mark.parametrize("flavours", [("asyncio", "asyncio"), ("asyncio", "trio")])
def test_unknown_keys_are_right_when_threads_with_their_own_event_loops_read_them_at_once(
    engine: _decoding.Engine, flavours: tuple[str, str]
) -> None:
    """Each thread decodes pages of its own and reads a page all threads share, for the
    first time, at once; the switch interval is tiny so the threads interleave often."""
    invoices = []
    for number in range(40):
        invoice = with_extras({"n": number}, {"x": number}, {"t": number})
        invoice["transactions"][0]["risk"] = {**RISK, "r": number}
        invoices.append(invoice)
    body = json.dumps({"data": invoices}).encode()
    shared, _ = engine.envelope(body, list[Invoice])
    start = threading.Barrier(len(flavours) * 2)
    failures: list[BaseException] = []

    def read(data: list[Invoice], order: list[int]) -> None:
        for number in order:
            invoice = data[number]
            assert invoice.transactions[0].risk is not None
            assert invoice.exchange is not None
            assert invoice.transactions[0].risk.extra_fields == {"r": number}
            assert invoice.exchange.extra_fields == {"x": number}
            assert invoice.extra_fields == {"n": number}

    async def work(seed: int) -> None:
        order = list(range(len(invoices)))
        random.Random(seed).shuffle(order)
        for _ in range(5):
            own, _ = engine.envelope(body, list[Invoice])
            await anyio.lowlevel.checkpoint()
            read(own, order)
        read(shared, order)

    def thread(flavour: str, seed: int) -> None:
        try:
            start.wait(timeout=30)
            anyio.run(work, seed, backend=flavour)
        except BaseException as exc:  # reported below, with the thread's own traceback
            failures.append(exc)

    threads = [
        threading.Thread(target=thread, args=(flavour, seed))
        for seed, flavour in enumerate(flavours * 2)
    ]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for worker in threads:
            worker.start()
        for worker in threads:
            worker.join(timeout=60)
    finally:
        sys.setswitchinterval(interval)
    assert not any(worker.is_alive() for worker in threads)
    assert failures == []


@pytest.mark.parametrize("read_first", [False, True], ids=["unread", "read"])
def test_a_dropped_page_is_freed_without_the_garbage_collector(
    engine: _decoding.Engine, read_first: bool
) -> None:
    import weakref

    body = page_with_extras_everywhere(3)
    gc.disable()
    try:
        data, _ = engine.envelope(body, list[Invoice])
        assert data[1].exchange is not None
        if read_first:
            assert data[0].extra_fields == {"top_new": 1}
            assert data[1].exchange.extra_fields == {"exchange_new": 2}
        first, exchange = weakref.ref(data[0]), weakref.ref(data[1].exchange)
        del data
        assert first() is None  # no reference cycle keeps the page alive
        assert exchange() is None
    finally:
        gc.enable()
