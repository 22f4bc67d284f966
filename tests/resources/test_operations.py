"""Every operation of endpoints.json, driven by one table, against every recorded body."""

from __future__ import annotations

import contextlib
import inspect
import json
import types
import typing
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs
import httpx
import pytest

from cryptopay_async import AsyncCryptopay, models
from cryptopay_async._decoding._cattrs import structure
from cryptopay_async.models import ApiEnum, AsyncPager, Page
from cryptopay_async.resources import OPERATIONS
from tests.support import (
    API_SPEC,
    FIXTURES,
    Recorder,
    json_response,
    recorded_client,
    signature_is_valid,
)

ENDPOINTS: list[dict[str, Any]] = json.loads((API_SPEC / "endpoints.json").read_text())
MODELS: dict[str, Any] = json.loads((API_SPEC / "models.json").read_text())["models"]
BY_NAME = {f"{e['resource']}.{e['operation']}": e for e in ENDPOINTS}

UUID = "3e877d2f-1232-4ab6-868e-372e2b91afaa"
MERCHANT_ID = "ORDER 42/ä?"  # merchant ids may hold reserved and non-ASCII characters
WHEN = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def path_sample(name: str) -> str:
    if name in ("custom_id", "customer_id"):
        return MERCHANT_ID
    samples = {"base_currency": "BTC", "quote_currency": "EUR"}
    return samples.get(name, UUID)


def body_sample(spec: dict[str, Any]) -> tuple[Any, Any]:
    """(argument to pass, JSON value expected on the wire) for one required field."""
    if "enum" in spec:
        value = MODELS_ENUMS[spec["enum"]][-1]
        return value, value
    if spec.get("format") == "decimal":
        return Decimal("10.50"), "10.50"
    if spec.get("format") == "date-time":
        return WHEN, "2030-01-02T03:04:05+00:00"
    return {"string": ("X-1", "X-1"), "integer": (2, 2), "boolean": (True, True)}[spec["type"]]


MODELS_ENUMS: dict[str, list[str]] = json.loads((API_SPEC / "models.json").read_text())["enums"]


def call_plan(endpoint: dict[str, Any]) -> tuple[list[str], dict[str, Any], dict[str, Any] | None]:
    """Positional args, keyword args, and the JSON body they must produce."""
    args = [path_sample(p) for p in endpoint["path_params"]]
    kwargs: dict[str, Any] = {}
    body: dict[str, Any] | None = None
    if endpoint["body_model"]:
        body = {}
        fields = MODELS[endpoint["body_model"]]["fields"]
        for name, spec in fields.items():
            if spec["required"]:
                kwargs[name], body[name] = body_sample(spec)
        if endpoint["operation"] == "create" and endpoint["resource"] == "coin_withdrawals":
            kwargs["charged_amount"], body["charged_amount"] = Decimal("25"), "25"
        if endpoint["operation"] == "create" and endpoint["resource"] == "exchange_transfers":
            kwargs["received_amount"], body["received_amount"] = "0.001", "0.001"
    return args, kwargs, body


def expected_target(endpoint: dict[str, Any]) -> str:
    path: str = endpoint["path"]
    for name in endpoint["path_params"]:
        path = path.replace("{" + name + "}", quote(path_sample(name), safe=""))
    return path


def fixture_cases() -> list[tuple[str, Path]]:
    cases = []
    for folder in ("responses", "responses-2023"):
        for path in sorted((FIXTURES / folder).glob("*/*.json")):
            cases.append((f"{path.parent.name}.{path.stem}", path))
    return cases


CASES = fixture_cases()
CASE_IDS = [f"{p.parent.parent.name}/{name}" for name, p in CASES]
PAYLOADS = {path: json.loads(path.read_bytes()) for _, path in CASES}


def test_every_fixture_belongs_to_an_operation() -> None:
    assert {name for name, _ in CASES} <= set(BY_NAME)


@pytest.mark.parametrize("folder", ["responses", "responses-2023"])
@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_every_operation_has_a_recorded_body(name: str, folder: str) -> None:
    resource, operation = name.split(".")
    recorded = FIXTURES / folder / resource / f"{operation}.json"
    assert recorded.is_file(), (
        f"{name} has no recorded body: add {folder}/{resource}/{operation}.json"
    )


def test_every_endpoint_is_a_method_with_its_method_path_and_arguments() -> None:
    client = AsyncCryptopay(api_key="k", api_secret="s")
    declared = {op.name: op for op in OPERATIONS}
    assert set(declared) == set(BY_NAME)
    for name, endpoint in BY_NAME.items():
        method = getattr(getattr(client, endpoint["resource"]), endpoint["operation"])
        op = declared[name]
        assert (op.method, op.path) == (endpoint["method"], endpoint["path"]), name
        params = inspect.signature(method).parameters
        positional = [p.name for p in params.values() if p.kind is p.POSITIONAL_ONLY]
        assert positional == endpoint["path_params"], name
        keyword = {p.name for p in params.values() if p.kind is p.KEYWORD_ONLY}
        wanted = {q["name"] for q in endpoint["query_params"]} - (
            {"starting_after"} if endpoint["paginated"] else set()
        )
        if endpoint["body_model"]:
            wanted |= {
                f
                for f, spec in MODELS[endpoint["body_model"]]["fields"].items()
                if not spec.get("docs_only")
            }
        options = {"timeout", "extra_headers", "extra_query"}
        if endpoint["method"] != "GET":  # a GET sends no body to add fields to
            options.add("extra_body")
        assert keyword == wanted | options, name
        assert endpoint["path"] in (method.__doc__ or ""), name
        assert inspect.iscoroutinefunction(method) != endpoint["paginated"], name


def walk(value: Any, tp: Any, where: str) -> int:
    """Assert decoded values have the declared Python types; returns how many were checked."""
    checked = 0
    if value is None:
        return 0
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(tp) if a is not type(None)]
        enums = [a for a in members if isinstance(a, type) and issubclass(a, Enum)]
        if enums:
            known = {m.value for m in enums[0]}
            assert isinstance(value, enums[0]) or (isinstance(value, str) and value not in known)
            return 1
        return walk(value, members[0], where)
    if origin is list:
        return sum(walk(item, typing.get_args(tp)[0], f"{where}[]") for item in value)
    if origin is dict:
        return sum(walk(item, typing.get_args(tp)[1], f"{where}{{}}") for item in value.values())
    if attrs.has(tp):
        assert isinstance(value, tp), where
        hints = typing.get_type_hints(tp)
        return sum(
            walk(getattr(value, f.name), hints[f.name], f"{where}.{f.name}")
            for f in attrs.fields(tp)
        )
    if tp is Decimal:
        assert isinstance(value, Decimal), where
        checked += 1
    elif tp is datetime:
        assert isinstance(value, datetime), where
        assert value.utcoffset() is not None, where
        checked += 1
    else:
        assert isinstance(value, tp), (where, value)
        checked += 1
    return checked


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("name", "path"), CASES, ids=[f"{p.parent.parent.name}/{n}" for n, p in CASES]
)
async def test_every_recorded_body_through_its_operation(name: str, path: Path) -> None:
    endpoint = BY_NAME[name]
    payload = PAYLOADS[path]
    recorder = Recorder(lambda r: json_response(endpoint["success_status"], payload))
    args, kwargs, body = call_plan(endpoint)
    async with recorded_client(recorder) as client:
        method = getattr(getattr(client, endpoint["resource"]), endpoint["operation"])
        expect_warning = pytest.warns(DeprecationWarning, match="deprecated")
        with expect_warning if endpoint.get("deprecated") else contextlib.nullcontext():
            call = method(*args, **kwargs)
            assert isinstance(call, AsyncPager) == endpoint["paginated"]
            result = await call
    sent = recorder.requests[0]
    assert len(recorder.requests) == 1
    assert sent.method == endpoint["method"]
    assert sent.url.raw_path.decode() == expected_target(endpoint)
    assert signature_is_valid(sent)
    assert (json.loads(sent.content) if sent.content else None) == body
    op = next(o for o in OPERATIONS if o.name == name)
    if isinstance(result, Page):
        assert result.total == payload["meta"]["total"]
        assert result.has_more == payload["meta"]["has_more"]
        items = result.data
        assert len(items) == len(payload["data"])
        checked = walk(items, op.result, name)  # the type of each page's data
    else:
        checked = walk(result, op.result, name)
    assert checked > 0


@pytest.mark.parametrize(
    ("name", "path"), CASES, ids=[f"{p.parent.parent.name}/{n}" for n, p in CASES]
)
def test_models_round_trip_to_json_ready_dicts(name: str, path: Path) -> None:
    op = next(o for o in OPERATIONS if o.name == name)
    data = PAYLOADS[path]["data"]
    model = structure(data, op.result)
    plain = models.to_dict(model)
    json.dumps(plain)  # JSON-ready: only dicts, lists, str, numbers, bools, None
    again = structure(plain, op.result)
    assert again == model


def test_amounts_and_dates_read_back_exactly() -> None:
    raw = json.loads((FIXTURES / "responses-2023/invoices/retrieve.json").read_bytes())["data"]
    invoice = structure(raw, models.Invoice)
    assert invoice.price_amount == Decimal(raw["price_amount"])
    assert models.to_dict(invoice)["price_amount"] == raw["price_amount"]
    assert invoice.created_at == datetime.fromisoformat(raw["created_at"])
    assert invoice.status is models.InvoiceStatus(raw["status"])


def test_enums_are_str_enums() -> None:
    assert issubclass(models.InvoiceStatus, ApiEnum)
    assert models.InvoiceStatus.COMPLETED.value == "completed"
    assert str(models.TransactionReferenceType.BANK_DEPOSIT) == "BankDeposit"


@pytest.mark.anyio
async def test_paginated_lists_walk_every_page_lazily() -> None:
    base = json.loads((FIXTURES / "responses-2023/invoices/list.json").read_bytes())
    first = base["data"][:3]
    second = base["data"][3:5]

    def answer(request: httpx.Request) -> httpx.Response:
        if "starting_after" not in request.url.params:
            return json_response(200, {"data": first, "meta": {"total": 5, "has_more": True}})
        assert request.url.params["starting_after"] == first[-1]["id"]
        return json_response(200, {"data": second, "meta": {"total": 5, "has_more": False}})

    recorder = Recorder(answer)
    async with recorded_client(recorder) as client:
        seen: list[str] = []
        async for invoice in client.invoices.list(customer_id="C 1"):
            seen.append(invoice.id)
            if len(seen) == 3:
                assert len(recorder.requests) == 1  # the next page only when needed
        page = await client.invoices.list(customer_id="C 1")
        following = await page.next_page()
        assert following is not None
        assert await following.next_page() is None
    assert seen == [i["id"] for i in first + second]
    assert [r.url.raw_path.decode() for r in recorder.requests[:2]] == [
        "/api/invoices?customer_id=C%201",
        f"/api/invoices?customer_id=C%201&starting_after={first[-1]['id']}",
    ]


@pytest.mark.anyio
async def test_non_paginated_lists_and_the_rate_map() -> None:
    rates = json.loads((FIXTURES / "responses-2023/rates/all.json").read_bytes())
    coins = json.loads((FIXTURES / "responses-2023/coins/list.json").read_bytes())
    answers = {"/api/rates": rates, "/api/coins": coins}
    recorder = Recorder(lambda r: json_response(200, answers[r.url.path]))
    async with recorded_client(recorder) as client:
        all_rates = await client.rates.all()
        coin_list = await client.coins.list()
    assert isinstance(all_rates, dict)
    assert isinstance(all_rates["BTC/EUR"], models.Rate)
    assert isinstance(all_rates["BTC/EUR"].buy_rate, Decimal)
    assert isinstance(coin_list, list)
    assert isinstance(coin_list[0], models.Coin)
