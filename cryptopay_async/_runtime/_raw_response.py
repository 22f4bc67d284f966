"""``client.with_raw_response``: a successful call's HTTP answer, not only its data.

``await client.with_raw_response.invoices.create(...)`` runs exactly what
``client.invoices.create(...)`` runs (same arguments, checks, chain, exactly-once
settling) and returns an ``APIResponse`` around the answer: status (200 vs 201),
headers (the edge's ``Cf-Ray`` and ``Date``), ``meta.request_id`` when the body has
one, timing, and ``parse()`` for the value the plain method returns. A paginated
operation gives the first page's answer (``parse()`` is the ``Page``).

How: the view's resources send through a ``Sender`` that remembers the last answer
of the call in progress (a context variable, so concurrent calls never mix theirs up).
An answer whose body does not decode still comes back: ``parse()`` raises the
``APIResponseValidationError`` the plain method would have raised.
"""

from __future__ import annotations

import contextvars
import datetime
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx

from cryptopay_async import _json
from cryptopay_async._errors._exceptions import APIResponseValidationError
from cryptopay_async.resources import RESOURCE_NAMES, Resources

if TYPE_CHECKING:
    from cryptopay_async.middleware._retry import RetryPolicy
    from cryptopay_async.resources._recovery import RecoveryMemory
    from cryptopay_async.resources._sender import CallOptions, Sender

T = TypeVar("T")

_LAST: contextvars.ContextVar[list[httpx.Response] | None] = contextvars.ContextVar(
    "cryptopay_async.raw_response", default=None
)


class APIResponse(Generic[T]):
    """The HTTP answer of a call that succeeded, and the value decoded from it."""

    __slots__ = ("_error", "_value", "http_response")

    http_response: httpx.Response
    """The ``httpx.Response`` itself (body already read)."""

    def __init__(
        self,
        http_response: httpx.Response,
        value: T | None = None,
        error: APIResponseValidationError | None = None,
    ) -> None:
        self.http_response = http_response
        self._value = value
        self._error = error

    def parse(self) -> T:
        """What the plain method returns; ``APIResponseValidationError`` if the body
        did not decode (the answer is still here to look at)."""
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set whenever _error is None

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def request_id(self) -> str | None:
        """``meta.request_id`` of the body, or None (Cryptopay's success answers have
        none; quote ``headers["cf-ray"]`` instead)."""
        try:
            body = _json.loads(self.http_response.content)
        except ValueError:
            return None
        meta = body.get("meta") if isinstance(body, dict) else None
        request_id = meta.get("request_id") if isinstance(meta, dict) else None
        return request_id if isinstance(request_id, str) else None

    @property
    def elapsed(self) -> datetime.timedelta:
        """From sending the (last) attempt to reading the whole answer."""
        return self.http_response.elapsed

    def __repr__(self) -> str:
        request = self.http_response.request
        return f"<APIResponse [{self.status_code}] {request.method} {request.url.raw_path!r}>"


class _RecordingSender:
    """A ``Sender`` passing every call on, remembering the answers of the raw call."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Sender) -> None:
        self._inner = inner

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._inner.retry_policy

    @property
    def telemetry(self) -> object:
        """The client's telemetry (or None): raw calls are traced as the plain ones."""
        return getattr(self._inner, "telemetry", None)

    async def send(
        self, method: str, target: str, body: bytes | None, options: CallOptions | None = None
    ) -> httpx.Response:
        try:
            response = await self._inner.send(method, target, body, options)
        except APIResponseValidationError as exc:  # a 2xx the chain could not read
            _remember(exc.response)
            raise
        _remember(response)
        return response


def _remember(response: httpx.Response) -> None:
    answers = _LAST.get()
    if answers is not None:
        answers.append(response)


class RawResource:
    """``client.with_raw_response.<resource>``: its operations return ``APIResponse``."""

    __slots__ = ("_resource",)

    def __init__(self, resource: object) -> None:
        self._resource = resource

    def __getattr__(self, name: str) -> Callable[..., Awaitable[APIResponse[Any]]]:
        if name.startswith("_"):
            raise AttributeError(name)
        method = getattr(self._resource, name)

        async def call(*args: Any, **kwargs: Any) -> APIResponse[Any]:
            answers: list[httpx.Response] = []
            token = _LAST.set(answers)
            try:
                # A coroutine, or a paginated operation's pager: awaiting it fetches
                # the first page.
                value = await method(*args, **kwargs)
            except APIResponseValidationError as exc:
                if not answers:
                    raise
                return APIResponse(answers[-1], error=exc)
            finally:
                _LAST.reset(token)
            return APIResponse(answers[-1], value)

        call.__name__ = name
        call.__doc__ = getattr(method, "__doc__", None)
        return call

    def __dir__(self) -> list[str]:
        return [name for name in dir(self._resource) if not name.startswith("_")]


class RawResources:
    """Every resource, each returning ``APIResponse`` instead of the bare value.

    Typed loosely (``Any`` results): ``parse()`` gives the value the plain method's
    annotation promises.
    """

    def __init__(self, sender: Sender, memory: RecoveryMemory | None = None) -> None:
        bound = Resources(_RecordingSender(sender), memory)
        for name in RESOURCE_NAMES:
            setattr(self, name, RawResource(getattr(bound, name)))

    def __getattr__(self, name: str) -> RawResource:
        raise AttributeError(f"no resource {name!r}: valid are {', '.join(RESOURCE_NAMES)}")
