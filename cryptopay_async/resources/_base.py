"""How every operation runs: check arguments, build the request, send it, decode ``data``.

Every operation is declared as an ``Operation`` value (generated from the API
description into ``_generated.py``); their methods only hand their arguments over.
"""

from __future__ import annotations

import re
import typing
import warnings
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from cryptopay_async import _json
from cryptopay_async._decoding._envelope import decode_envelope
from cryptopay_async._errors import _messages as say
from cryptopay_async._errors._exceptions import APIResponseValidationError
from cryptopay_async.models._pagination import AsyncPager, FetchPage, Page, stalled
from cryptopay_async.resources import _arguments as arg
from cryptopay_async.resources import _exactly_once
from cryptopay_async.resources._recovery import Recovery
from cryptopay_async.resources._sender import CallOptions

if TYPE_CHECKING:
    import httpx

    from cryptopay_async._telemetry import OperationTracer
    from cryptopay_async.resources._sender import Container

T = TypeVar("T")


@attrs.frozen
class Param:
    """A body field or query parameter: its JSON name, its check, whether it must be given."""

    name: str
    check: Callable[[str, Any], Any]
    required: bool = False


def type_name(tp: Any) -> str:
    """``Invoice``, ``list[Coin]``, ``dict[str, Rate]``: a type as error messages name it."""
    args = typing.get_args(tp)
    if not args:
        return str(getattr(tp, "__name__", tp))
    origin = typing.get_origin(tp)
    return f"{origin.__name__}[{', '.join(type_name(a) for a in args)}]"


@attrs.frozen
class Operation(Generic[T]):
    """One API operation as data: ``invoices.create`` is ``POST /api/invoices`` → ``Invoice``.

    ``result`` is always the type of the answer's ``data``: ``Invoice`` for a single
    object, ``list[Coin]`` for a plain list, ``list[Invoice]`` for each page of a
    ``paginated`` list. ``T`` is that type, so a method returns what ``_call`` returns.
    """

    name: str
    method: str
    path: str
    result: Any
    query: tuple[Param, ...] = ()
    body: tuple[Param, ...] | None = None
    """``None``: no body at all; ``()``: an empty JSON object."""
    paginated: bool = False
    exactly_one: tuple[str, ...] = ()
    deprecated: bool = False
    recovery: Recovery | None = None
    """How ``_exactly_once`` settles an ambiguous failure of this operation, if it moves money."""
    path_params: tuple[str, ...] = attrs.field(init=False)
    result_name: str = attrs.field(init=False)
    query_names: frozenset[str] = attrs.field(init=False)
    """The query parameters and path parameters the method takes: no extra query key."""
    body_names: frozenset[str] = attrs.field(init=False)
    """The body fields and path parameters the method takes: no extra body key."""

    @path_params.default
    def _path_params_from_path(self) -> tuple[str, ...]:
        return tuple(re.findall(r"\{(\w+)\}", self.path))

    @result_name.default
    def _result_name(self) -> str:
        return type_name(self.result)

    @query_names.default
    def _query_names(self) -> frozenset[str]:
        names = {*self.path_params, *(p.name for p in self.query)}
        if self.paginated:
            names.add("starting_after")  # the pager's cursor
        return frozenset(names)

    @body_names.default
    def _body_names(self) -> frozenset[str]:
        return frozenset({*self.path_params, *(p.name for p in self.body or ())})

    def target(
        self,
        path_args: tuple[str, ...],
        values: Mapping[str, Any],
        extra_query: Mapping[str, Any] | None = None,
    ) -> str:
        """Path with percent-encoded parameters, plus ``?query`` when any filter is set.

        ``extra_query`` (a call's own parameters) follows the method's, keys checked not
        to be one of the method's arguments.
        """
        segments = {
            name: arg.path_parameter(name, value)
            for name, value in zip(self.path_params, path_args, strict=True)
        }
        path = self.path.format(**segments) if segments else self.path
        query = {
            p.name: p.check(p.name, values[p.name])
            for p in self.query
            if values[p.name] is not None
        }
        if extra_query is not None:
            query.update(arg.extra_query(extra_query, self.query_names, self.name))
        qs = arg.query_string(query)
        return f"{path}?{qs}" if qs else path

    def body_bytes(
        self, values: Mapping[str, Any], extra_body: Mapping[str, Any] | None = None
    ) -> bytes | None:
        """The JSON body, serialized once: the same bytes are hashed and sent.

        ``extra_body`` (fields this release does not model) is merged in; a key that is
        one of the method's arguments is a ``ValueError``, never an overwrite.
        """
        if self.body is None and extra_body is None:
            return None
        if self.body is None and self.method == "GET":
            raise ValueError(f"{self.name} sends no body (GET): pass extra_query, not extra_body")
        fields = {
            p.name: p.check(p.name, values[p.name])
            for p in self.body or ()
            if p.required or values[p.name] is not None
        }
        if extra_body is not None:
            fields.update(arg.extra_body(extra_body, self.body_names, self.name))
        if self.exactly_one:
            given = [name for name in self.exactly_one if name in fields]
            if len(given) != 1:
                names = ", ".join(self.exactly_one)
                found = ", ".join(given) or "none"
                raise ValueError(f"{self.name} needs exactly one of {names}; got {found}")
        try:
            return _json.dumps(fields)
        except (TypeError, ValueError):  # e.g. a lone surrogate deep in a nested dict
            for name, value in fields.items():
                try:
                    _json.dumps(value)
                except (TypeError, ValueError) as exc:
                    reason = say.clip(str(exc))
                    raise ValueError(f"{name} cannot be sent as JSON: {reason}") from None
            raise

    def parse(self, response: httpx.Response) -> T:
        """The answer's ``data`` as ``result``; ``APIResponseValidationError`` naming the field."""
        if response.status_code == 204:
            # public-api.md §5: 204 returns None. No endpoint is known to answer it
            # (cryptopay-api.md), so the methods keep the documented model as their type.
            return None  # type: ignore[return-value]
        result: T
        result, _ = decode_envelope(response, self.result, self.result_name)
        return result


class Resource:
    """A group of operations (``client.invoices``), sending through its ``Resources``' sender.

    It depends on the ``Sender`` protocol only; the ``Resources`` it belongs to is what
    exactly-once recovery reads objects back with.
    """

    __slots__ = ("_resources", "_sender", "_telemetry")

    def __init__(self, resources: Container) -> None:
        self._resources = resources
        self._sender = resources.sender
        # The client's telemetry, or None (then calls run exactly as without it).
        self._telemetry: OperationTracer | None = getattr(resources.sender, "telemetry", None)

    async def _call(
        self,
        op: Operation[T],
        path_args: tuple[str, ...],
        values: Mapping[str, Any],
        *,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> T:
        if op.deprecated:
            warnings.warn(
                f"{op.name} is deprecated: the newer official SDKs dropped it and the "
                "server may no longer serve it",
                DeprecationWarning,
                stacklevel=3,
            )
        target = op.target(path_args, values, extra_query)
        body = op.body_bytes(values, extra_body)
        options = call_options(timeout, extra_headers)

        async def send() -> T:
            return op.parse(await self._sender.send(op.method, target, body, options))

        run: Awaitable[T]
        if op.recovery is not None:  # creates with custom_id, commits
            run = _exactly_once.run(self._resources, op.name, op.recovery, path_args, values, send)
        else:
            run = send()
        telemetry = self._telemetry
        if telemetry is None:
            return await run
        with telemetry.operation(op.name, op.method, op.path):
            return await run

    def _paginate(
        self,
        op: Operation[list[T]],
        path_args: tuple[str, ...],
        values: Mapping[str, Any],
        *,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
    ) -> AsyncPager[T]:
        """Every page is fetched with the same filters and per-call options."""
        target = op.target(path_args, values, extra_query)
        options = call_options(timeout, extra_headers)
        separator = "&" if "?" in target else "?"

        async def fetch(cursor: str | None, followed: Collection[str]) -> Page[T]:
            url = target
            if cursor is not None:
                url += f"{separator}starting_after={arg.path_segment(cursor)}"
            response = await self._sender.send("GET", url, None, options)
            if response.status_code == 204:  # no content: no items, and nothing after them
                return Page(data=[], has_more=False, total=None, fetch=pages)
            items: list[T]
            items, meta = decode_envelope(response, op.result, op.result_name)
            if not isinstance(meta, dict):
                meta = {}
            total = meta.get("total")
            has_more = meta.get("has_more") is True
            problem = stalled(items, has_more, followed)
            if problem is not None:
                raise APIResponseValidationError(
                    f"{say.where(response.request)} answered a page that {problem}: "
                    "stopped rather than loop over it",
                    response=response,
                )
            return Page(
                data=items,
                has_more=has_more,
                total=total if isinstance(total, int) and not isinstance(total, bool) else None,
                fetch=pages,
            )

        async def traced(cursor: str | None, followed: Collection[str]) -> Page[T]:
            assert telemetry is not None
            with telemetry.operation(op.name, op.method, op.path):  # one span per page
                return await fetch(cursor, followed)

        telemetry = self._telemetry
        pages: FetchPage[T] = fetch if telemetry is None else traced
        return AsyncPager(pages)


def call_options(
    timeout: float | httpx.Timeout | None, extra_headers: Mapping[str, str] | None
) -> CallOptions | None:
    """A call's own timeout and headers, checked; None when it has neither."""
    if timeout is None and extra_headers is None:
        return None
    return CallOptions(
        timeout=None if timeout is None else arg.as_timeout(timeout),
        headers=() if extra_headers is None else arg.extra_headers(extra_headers),
    )
