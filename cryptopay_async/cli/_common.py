"""What every ``cryptopay`` command shares: exit codes and how a failure is reported.

Exit codes: 0 ok, 1 a callback signature did not verify, 2 usage or configuration error,
3 the API answered with an error, 4 the API could not be reached.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any, TypeVar

import anyio
import attrs
import typer
from rich.console import Console

from cryptopay_async import APIConnectionError, APIStatusError, AsyncCryptopay, CryptopayError
from cryptopay_async.cli._output import error_text

T = TypeVar("T")

EXIT_SIGNATURE, EXIT_USAGE, EXIT_API, EXIT_NETWORK = 1, 2, 3, 4

err = Console(stderr=True, highlight=False, soft_wrap=True)
JSON_ERRORS: ContextVar[bool] = ContextVar("JSON_ERRORS", default=False)
"""Set from ``--json`` by the root command, read by ``fail``."""


def fail(message: str, code: int, error: BaseException | None = None) -> typer.Exit:
    """Report ``message`` on stderr (one line, JSON under ``--json``); raise the result."""
    if JSON_ERRORS.get():
        kind = type(error).__name__ if error is not None else "UsageError"
        print_json_error(kind, message, code, error)
    else:
        err.print(f"error: {message}", markup=False)
    return typer.Exit(code)


def print_json_error(
    kind: str, message: str, code: int, error: BaseException | None = None
) -> None:
    """``{"error": {"type", "message", "exit_code", ...}}`` on one line of stderr."""
    body: dict[str, Any] = {"type": kind, "message": message, "exit_code": code}
    if isinstance(error, APIStatusError):
        body |= {
            "status": error.status_code,
            "code": error.code,
            "request_id": error.request_id,
            "details": [attrs.asdict(detail) for detail in error.details],
        }
    if isinstance(error, CryptopayError):
        body["maybe_processed"] = error.maybe_processed
    sys.stderr.write(json.dumps({"error": body}) + "\n")


def run(ctx: typer.Context, job: Callable[[AsyncCryptopay], Coroutine[Any, Any, T]]) -> T:
    """Build the client from the options, run ``job``, and map failures to exit codes."""
    settings = ctx.obj  # the root command's Settings

    async def main() -> T:
        async with settings.client() as client:
            return await job(client)

    try:
        return anyio.run(main)
    except ValueError as exc:  # configuration: bad environment or base URL, bad argument
        raise fail(str(exc), EXIT_USAGE, exc) from None
    except APIStatusError as exc:
        raise fail(error_text(exc), EXIT_API, exc) from None
    except APIConnectionError as exc:
        raise fail(str(exc), EXIT_NETWORK, exc) from None
    except CryptopayError as exc:
        raise fail(str(exc), EXIT_API, exc) from None
