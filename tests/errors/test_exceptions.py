from __future__ import annotations

import email.utils
import json
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptopay_async import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ClientError,
    ConflictError,
    ErrorDetail,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    UnprocessableEntityError,
)
from cryptopay_async._errors._exceptions import status_error_class, status_error_from_response
from cryptopay_async._extensions import parse_retry_after
from tests.support import FIXTURES, fixture_bytes, json_response

REQUEST = httpx.Request("GET", "https://h/api/invoices/1")


def response(
    status: int, content: bytes = b"", headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, content=content, headers=headers, request=REQUEST)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, ServiceUnavailableError),
        (418, ClientError),
        (451, ClientError),
        (502, ServerError),
        (504, ServerError),
        (599, ServerError),
        (301, APIStatusError),
        (302, APIStatusError),
        (307, APIStatusError),
    ],
)
@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        b'{"error": {"code": "x", "mess',
        b'{"message": "another shape"}',
        b"[1, 2, 3]",
        b'{"error": "just a string"}',
    ],
    ids=["empty", "html", "truncated-json", "other-shape", "json-array", "error-not-object"],
)
def test_any_body_gives_the_class_of_its_status(status: int, cls: type, body: bytes) -> None:
    error = status_error_from_response(response(status, body))
    assert type(error) is cls
    assert error.status_code == status
    assert error.code is None
    assert error.message == (httpx.codes.get_reason_phrase(status) or f"HTTP {status}")
    assert error.details == []
    assert error.request_id is None
    assert str(error).startswith(f"GET /api/invoices/1 -> {status}: ")


ERROR_FIXTURES = sorted((FIXTURES / "errors").glob("*.json"))


@pytest.mark.parametrize("path", ERROR_FIXTURES, ids=[p.stem for p in ERROR_FIXTURES])
def test_every_recorded_error_body(path: Path) -> None:
    status = int(path.stem.split("-")[0])
    body = path.read_bytes()
    error = status_error_from_response(response(status, body))
    recorded = json.loads(body)
    assert (
        type(error)
        is {
            401: AuthenticationError,
            403: PermissionDeniedError,
            404: NotFoundError,
            409: ConflictError,
            422: UnprocessableEntityError,
        }[status]
    )
    assert error.code == recorded["error"]["code"]
    assert error.message == recorded["error"]["message"]
    assert error.request_id == recorded["meta"]["request_id"]
    assert [(d.code, d.target, d.message, d.args) for d in error.details] == [
        (d["code"], d["target"], d["message"], d["args"]) for d in recorded["error"]["details"]
    ]
    assert error.response.content == body
    assert f"(request_id={recorded['meta']['request_id']})" in str(error)


def test_one_line_str_reads_like_the_contract() -> None:
    error = status_error_from_response(response(404, fixture_bytes("errors/404-not_found.json")))
    assert str(error) == (
        "GET /api/invoices/1 -> 404 not_found: not found "
        "(request_id=1bd79df91f60d973bbc4583d4be241d5)"
    )


def test_validation_details_are_named_in_str() -> None:
    body = fixture_bytes("errors/422-invalid-must_be_less_than_or_equal.json")
    error = status_error_from_response(response(422, body))
    assert "charged_amount must be less than or equal to" in str(error)
    assert error.details[0] == ErrorDetail(
        code="must_be_less_than_or_equal",
        target="charged_amount",
        message=error.details[0].message,
        args={"value": "167.75222297"},
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("12", 12.0),
        ("0.5", 0.5),
        ("-3", 0.0),
        ("soon", None),
        ("nan", None),
        (email.utils.formatdate(1_000_030, usegmt=True), 30.0),
        (email.utils.formatdate(999_000, usegmt=True), 0.0),
    ],
)
def test_retry_after_seconds_or_http_date(header: str | None, expected: float | None) -> None:
    headers = {} if header is None else {"retry-after": header}
    assert parse_retry_after(httpx.Headers(headers), now=1_000_000) == expected


def test_rate_limit_error_carries_retry_after() -> None:
    error = status_error_from_response(
        response(
            429,
            b'{"error":{"code":"rate_limited","message":"slow down","details":[]}}',
            {"Retry-After": "7"},
        )
    )
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7.0
    assert error.code == "rate_limited"


def test_json_response_helper_sets_content_type() -> None:
    assert json_response(200, {}).headers["content-type"].startswith("application/json")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)
hostile_text = st.text(
    alphabet=st.characters(exclude_categories=()), max_size=40
) | st.sampled_from(["line one\nINFO forged", "\r\n" * 500, "x" * 100_000, "\u2028", "\x1b[31m"])
DETAIL_KEYS = ("code", "target", "message", "args")
error_objects = st.fixed_dictionaries(
    {},
    optional={
        "code": json_values | hostile_text,
        "message": json_values | hostile_text,
        "details": json_values
        | st.lists(
            st.fixed_dictionaries(
                {},
                optional=dict.fromkeys(DETAIL_KEYS, json_values | hostile_text),
            ),
            max_size=30,
        ),
    },
)
error_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"error": error_objects},
        optional={
            "meta": json_values | st.fixed_dictionaries({"request_id": json_values | hostile_text})
        },
    ),
)


@settings(max_examples=400, deadline=None)
@given(status=st.integers(400, 599), body=error_bodies)
def test_any_error_payload_gives_its_status_class_and_one_short_line(
    status: int, body: object
) -> None:
    content = json.dumps(body).encode()
    error = status_error_from_response(response(status, content))
    assert type(error) is status_error_class(status)
    assert error.status_code == status
    assert str(error).startswith(f"GET /api/invoices/1 -> {status}")
    assert str(error).isprintable()  # no newline, carriage return or escape sequence
    assert len(str(error)) <= 1_000


@pytest.mark.parametrize("details", [5, True, 1.5, "text", {"code": "x"}, None, [1, "a", None]])
def test_error_details_of_any_json_type_keep_the_status_class(details: object) -> None:
    body = json.dumps({"error": {"code": "invalid", "message": "no", "details": details}})
    error = status_error_from_response(response(422, body.encode()))
    assert type(error) is UnprocessableEntityError
    assert error.details == []
    assert str(error) == "GET /api/invoices/1 -> 422 invalid: no"
