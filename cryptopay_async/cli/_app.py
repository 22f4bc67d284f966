"""The ``cryptopay`` command: the SDK from a shell, tables for people and ``--json`` for scripts.

Exit codes: 0 ok, 1 a callback signature did not verify, 2 usage or configuration error,
3 the API answered with an error, 4 the API could not be reached.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio
import attrs
import typer
import typer.core

from cryptopay_async import (
    AsyncCryptopay,
    SignatureVerificationError,
    _logs,
)
from cryptopay_async._runtime import _environment
from cryptopay_async.callbacks import CallbackPayloadError, verify
from cryptopay_async.cli._batch import batch_app
from cryptopay_async.cli._common import (
    EXIT_SIGNATURE,
    EXIT_USAGE,
    JSON_ERRORS,
    fail,
    print_json_error,
    run,
)
from cryptopay_async.cli._emulator import emulator_app
from cryptopay_async.cli._help import print_version
from cryptopay_async.cli._output import show
from cryptopay_async.cli._reconcile import reconcile
from cryptopay_async.models import to_dict

T = TypeVar("T")


class GlobalOptionsAnywhere(typer.core.TyperGroup):
    """The root command: its options also work after the subcommand, and ``--json``
    turns usage errors into JSON too.

    click reads a group's options only before the subcommand's name; people (and
    shell history edits) put ``--json`` or ``--api-key`` at the end, so they are moved
    to the front before click parses. click has no setting for this, hence the code.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_options(self.params, args))

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        before_separator = argv[: argv.index("--")] if "--" in argv else argv
        if not standalone_mode or "--json" not in before_separator:
            return super().main(
                argv, prog_name, complete_var, standalone_mode, windows_expand_args, **extra
            )
        try:
            code = super().main(argv, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.TyperException as exc:  # click's usage errors
            print_json_error(type(exc).__name__, exc.format_message(), exc.exit_code)
            sys.exit(exc.exit_code)
        except typer.Abort:
            print_json_error("Aborted", "aborted", 1)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def hoist_options(params: Sequence[Any], args: list[str]) -> list[str]:
    """``args`` with the group's own options (and their values) moved to the front."""
    takes_value = {
        name: not (param.is_flag or param.count)
        for param in params
        if param.param_type_name == "option"
        for name in (*param.opts, *param.secondary_opts)
    }
    front: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest += args[index:]
            break
        name = arg.partition("=")[0] if arg.startswith("--") else arg
        if name in takes_value:
            front.append(arg)
            if takes_value[name] and "=" not in arg and index + 1 < len(args):
                index += 1
                front.append(args[index])
        else:
            rest.append(arg)
        index += 1
    return front + rest


app: typer.Typer = typer.Typer(
    cls=GlobalOptionsAnywhere,
    name="cryptopay",
    help=(
        "Cryptopay from the command line: rates, invoices, withdrawals, callbacks, emulator. "
        "The options below also work after the subcommand."
    ),
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
app.add_typer(batch_app, name="batch")
app.command("reconcile")(reconcile)


@attrs.define
class Settings:
    """Connection settings from the global options; ``None`` falls back to ``CRYPTOPAY_*``."""

    api_key: str | None = None
    api_secret: str | None = None
    environment: str | None = None
    base_url: str | None = None
    as_json: bool = False

    def client(self) -> AsyncCryptopay:
        missing = [
            f"{what} ({flag} or {env_var})"
            for what, value, flag, env_var in (
                ("API key", self.api_key, "--api-key", _environment.ENV_API_KEY),
                ("API secret", self.api_secret, "--api-secret", _environment.ENV_API_SECRET),
            )
            if not value and not os.environ.get(env_var)
        ]
        if missing:
            raise fail(
                f"missing credentials: {', '.join(missing)}; for a local emulator, "
                "`cryptopay emulator serve` prints the settings",
                EXIT_USAGE,
            )
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
    as_json: Annotated[
        bool, typer.Option("--json", help="machine-readable output, errors included")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="log each request to stderr (CRYPTOPAY_LOG=debug)"),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=print_version, is_eager=True, help="print the version, exit"
        ),
    ] = False,
) -> None:
    """Global options go before or after the subcommand."""
    if verbose:
        _logs.enable(logging.DEBUG)
    JSON_ERRORS.set(as_json)
    ctx.obj = Settings(api_key, api_secret, environment, base_url, as_json)


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
        raise fail(str(exc), EXIT_SIGNATURE, exc) from None
    except CallbackPayloadError as exc:
        raise fail(str(exc), EXIT_SIGNATURE, exc) from None
    # The type (Invoice, ChannelPayment, ...) is a class attribute, not a model field.
    output(ctx, {"type": event.type, **to_dict(event)}, f"Verified {event.type} callback")


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
