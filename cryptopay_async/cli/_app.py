"""The ``cryptopay`` command: the SDK from a shell, tables for people and ``--json`` for scripts.

Exit codes: 0 ok, 1 a callback signature did not verify, 2 usage or configuration error,
3 the API answered with an error, 4 the API could not be reached.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio
import attrs
import typer
from rich.console import Console

from cryptopay_async import (
    APIConnectionError,
    APIStatusError,
    AsyncCryptopay,
    CryptopayError,
    SignatureVerificationError,
)
from cryptopay_async.callbacks import CallbackPayloadError, verify
from cryptopay_async.cli._emulator import emulator_app
from cryptopay_async.cli._output import show
from cryptopay_async.models import to_dict

T = TypeVar("T")

EXIT_SIGNATURE, EXIT_USAGE, EXIT_API, EXIT_NETWORK = 1, 2, 3, 4

app = typer.Typer(
    name="cryptopay",
    help="Cryptopay from the command line: rates, invoices, withdrawals, callbacks, emulator.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold credentials
)
invoices_app = typer.Typer(help="Create, read and list invoices.", no_args_is_help=True)
withdrawals_app = typer.Typer(help="Read coin withdrawals (payouts).", no_args_is_help=True)
callbacks_app = typer.Typer(help="Verify signed callbacks.", no_args_is_help=True)
app.add_typer(invoices_app, name="invoices")
app.add_typer(withdrawals_app, name="withdrawals")
app.add_typer(callbacks_app, name="callbacks")
app.add_typer(emulator_app, name="emulator")

err = Console(stderr=True, highlight=False, soft_wrap=True)


@attrs.define
class Settings:
    """Connection settings from the global options; ``None`` falls back to ``CRYPTOPAY_*``."""

    api_key: str | None = None
    api_secret: str | None = None
    environment: str | None = None
    base_url: str | None = None
    as_json: bool = False

    def client(self) -> AsyncCryptopay:
        return AsyncCryptopay(
            api_key=self.api_key,
            api_secret=self.api_secret,
            environment=self.environment,
            base_url=self.base_url,
        )


@app.callback()
def main_options(
    ctx: typer.Context,
    api_key: Annotated[str | None, typer.Option(help="or CRYPTOPAY_API_KEY")] = None,
    api_secret: Annotated[str | None, typer.Option(help="or CRYPTOPAY_API_SECRET")] = None,
    environment: Annotated[
        str | None, typer.Option(help="sandbox | production, or CRYPTOPAY_ENVIRONMENT")
    ] = None,
    base_url: Annotated[str | None, typer.Option(help="overrides --environment")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    ctx.obj = Settings(api_key, api_secret, environment, base_url, as_json)


def fail(message: str, code: int) -> typer.Exit:
    err.print(f"error: {message}", markup=False)
    return typer.Exit(code)


def run(ctx: typer.Context, job: Callable[[AsyncCryptopay], Coroutine[Any, Any, T]]) -> T:
    """Build the client from the options, run ``job``, and map failures to exit codes."""
    settings: Settings = ctx.obj

    async def main() -> T:
        async with settings.client() as client:
            return await job(client)

    try:
        return anyio.run(main)
    except ValueError as exc:  # configuration: missing credentials, bad environment
        raise fail(str(exc), EXIT_USAGE) from None
    except APIStatusError as exc:
        raise fail(str(exc), EXIT_API) from None
    except APIConnectionError as exc:
        raise fail(str(exc), EXIT_NETWORK) from None
    except CryptopayError as exc:
        raise fail(str(exc), EXIT_API) from None


def output(ctx: typer.Context, value: Any, title: str) -> None:
    settings: Settings = ctx.obj
    if settings.as_json:
        typer.echo(json.dumps(to_dict(value), indent=2))
    else:
        show(value, title)


@app.command()
def rates(
    ctx: typer.Context,
    base: Annotated[str | None, typer.Argument(help="e.g. BTC")] = None,
    quote: Annotated[str | None, typer.Argument(help="e.g. EUR")] = None,
) -> None:
    """One pair's buy and sell rate, or every pair."""
    if (base is None) != (quote is None):
        raise fail("give both BASE and QUOTE, or neither", EXIT_USAGE)
    if base is not None and quote is not None:
        rate = run(ctx, lambda client: client.rates.retrieve(base.upper(), quote.upper()))
        output(ctx, {f"{base.upper()}/{quote.upper()}": rate}, "Rate")
        return
    every = run(ctx, lambda client: client.rates.all())
    output(ctx, {pair: rate for pair, rate in every.items() if "/" in pair}, "Rates")


def _list(ctx: typer.Context, resource: str, title: str, all_pages: bool, **filters: Any) -> None:
    """First page, or every item with ``--all``, of a paginated list operation."""

    async def job(client: AsyncCryptopay) -> list[Any]:
        listing = getattr(client, resource).list(**filters)
        if all_pages:
            return [item async for item in listing]
        return list((await listing).data)

    output(ctx, run(ctx, job), title)


def _get(ctx: typer.Context, resource: str, title: str, key: str, by_custom_id: bool) -> None:
    """One object by its Cryptopay id, or by your custom id."""
    operation = "retrieve_by_custom_id" if by_custom_id else "retrieve"
    found = run(ctx, lambda client: getattr(getattr(client, resource), operation)(key))
    output(ctx, found, title)


@invoices_app.command("list")
def invoices_list(
    ctx: typer.Context,
    all_pages: Annotated[
        bool, typer.Option("--all", help="every page, not only the first")
    ] = False,
    customer_id: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Invoices, newest first."""
    _list(ctx, "invoices", "Invoices", all_pages, customer_id=customer_id)


@invoices_app.command("create")
def invoices_create(
    ctx: typer.Context,
    amount: Annotated[str, typer.Option(help="price, a decimal such as 10.00")],
    currency: Annotated[str, typer.Option(help="price currency, e.g. EUR")],
    pay_currency: Annotated[str, typer.Option(help="what the payer sends, e.g. BTC")],
    custom_id: Annotated[str | None, typer.Option(help="your order id (unique)")] = None,
) -> None:
    """Create an invoice."""
    try:
        price = Decimal(amount)
    except ArithmeticError:
        raise fail(f"--amount is not a decimal number: {amount!r}", EXIT_USAGE) from None
    invoice = run(
        ctx,
        lambda client: client.invoices.create(
            price_amount=price,
            price_currency=currency.upper(),
            pay_currency=pay_currency.upper(),
            custom_id=custom_id,
        ),
    )
    output(ctx, invoice, "Invoice")


@invoices_app.command("get")
def invoices_get(
    ctx: typer.Context,
    invoice_id: Annotated[str, typer.Argument(help="Cryptopay id, or your custom id")],
    by_custom_id: Annotated[bool, typer.Option("--custom-id", help="look up by custom id")] = False,
) -> None:
    """One invoice."""
    _get(ctx, "invoices", "Invoice", invoice_id, by_custom_id)


@withdrawals_app.command("list")
def withdrawals_list(
    ctx: typer.Context,
    all_pages: Annotated[
        bool, typer.Option("--all", help="every page, not only the first")
    ] = False,
) -> None:
    """Coin withdrawals, newest first."""
    _list(ctx, "coin_withdrawals", "Coin withdrawals", all_pages)


@withdrawals_app.command("get")
def withdrawals_get(
    ctx: typer.Context,
    withdrawal_id: Annotated[str, typer.Argument(help="Cryptopay id, or your custom id")],
    by_custom_id: Annotated[bool, typer.Option("--custom-id", help="look up by custom id")] = False,
) -> None:
    """One coin withdrawal."""
    _get(ctx, "coin_withdrawals", "Coin withdrawal", withdrawal_id, by_custom_id)


@callbacks_app.command("verify")
def callbacks_verify(
    ctx: typer.Context,
    body_file: Annotated[Path, typer.Argument(help="the raw callback body, as received")],
    secret: Annotated[
        str, typer.Option(envvar="CRYPTOPAY_CALLBACK_SECRET", help="the callback secret")
    ],
    signature: Annotated[str, typer.Option(help="the X-Cryptopay-Signature header value")],
) -> None:
    """Check a callback's signature and show the event it carries."""
    try:
        body = body_file.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {body_file}: {exc.strerror}", EXIT_USAGE) from None
    try:
        event = verify(body, signature, secret=secret)
    except SignatureVerificationError as exc:
        raise fail(str(exc), EXIT_SIGNATURE) from None
    except CallbackPayloadError as exc:
        raise fail(str(exc), EXIT_SIGNATURE) from None
    output(ctx, event, "Verified callback")


@app.command()
def demo(
    ctx: typer.Context,
    invoices: Annotated[int, typer.Option(help="how many invoices the batch creates")] = 400,
    workers: Annotated[int, typer.Option(help="concurrent tasks")] = 50,
    speedup: Annotated[
        float, typer.Option(help="divide the 60 s rate-limit period by this (emulator only)")
    ] = 10.0,
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="run against the real sandbox (CRYPTOPAY_* env)")
    ] = False,
) -> None:
    """The main job: a concurrent invoice batch with faults, payments, webhooks and a summary."""
    from cryptopay_async.cli._demo import run_demo

    if invoices < 1 or workers < 1 or speedup <= 0:
        raise fail("--invoices and --workers must be >= 1 and --speedup > 0", EXIT_USAGE)
    settings: Settings = ctx.obj
    try:
        code = anyio.run(lambda: run_demo(invoices, workers, speedup, sandbox, settings.as_json))
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    raise typer.Exit(code)


def main() -> None:
    """Console-script entry point."""
    app()
