"""``cryptopay emulator ...``: serve the emulator, and drive a served one from a shell.

``serve`` hands its arguments to the one serve implementation
(``cryptopay_async.testing._serve``), so both entry points take the same flags. The
other commands call the ``/_emulator`` control routes of the emulator at ``--url``
(default ``$CRYPTOPAY_BASE_URL``, as the serve line exports it) and print the JSON answer.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import typer

from cryptopay_async.resources._arguments import path_segment
from cryptopay_async.testing._serve import TOKEN_VARIABLE

emulator_app = typer.Typer(help="The local Cryptopay emulator.", no_args_is_help=True)


@emulator_app.callback()
def emulator_options(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(envvar="CRYPTOPAY_BASE_URL", help="the served emulator's base URL"),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(envvar=TOKEN_VARIABLE, help="control token, if it was started with one"),
    ] = None,
) -> None:
    ctx.meta["emulator_url"] = url
    ctx.meta["emulator_token"] = token


@emulator_app.command(
    "serve",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def serve(ctx: typer.Context) -> None:
    """Run the emulator on HOST:PORT and print the export line (see serve --help)."""
    from cryptopay_async.cli._help import show_parser_help
    from cryptopay_async.testing._serve import main, parser

    if {"--help", "-h"} & set(ctx.args[: ctx.args.index("--")] if "--" in ctx.args else ctx.args):
        show_parser_help(parser(), ctx.command_path)
        raise typer.Exit()

    # The root command takes --api-key and --api-secret wherever they stand: hand them on.
    given = [getattr(ctx.find_root().obj, name, None) for name in ("api_key", "api_secret")]
    argv = list(ctx.args)
    for flag, value in zip(("--api-key", "--api-secret"), given, strict=True):
        if value is not None:
            argv = [flag, value, *argv]
    raise typer.Exit(main(argv, prog="cryptopay emulator serve"))


def _control(
    ctx: typer.Context, method: str, path: str, body: dict[str, Any] | None = None
) -> None:
    from cryptopay_async.cli._common import EXIT_API, EXIT_NETWORK, EXIT_USAGE, fail

    url = getattr(ctx.find_root().obj, "base_url", None) or ctx.meta.get("emulator_url")
    token = ctx.meta.get("emulator_token")
    if not url:
        raise fail("give --url or set CRYPTOPAY_BASE_URL to the served emulator", EXIT_USAGE)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with httpx.Client(base_url=url, timeout=10.0, trust_env=False) as http:
            answer = http.request(method, f"/_emulator{path}", json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach the emulator at {url}: {exc}", EXIT_NETWORK) from None
    try:
        payload = answer.json()
    except ValueError:
        raise fail(f"{answer.status_code} from {url}: not an emulator", EXIT_API) from None
    if answer.is_error:
        error = payload.get("error", {}) if isinstance(payload, dict) else {}
        details = "; ".join(
            f"{d.get('target')} {d.get('message')}" for d in error.get("details") or []
        )
        message = f"{answer.status_code} {error.get('code')}: {details or error.get('message')}"
        raise fail(message, EXIT_API)
    typer.echo(json.dumps(payload.get("data"), indent=2))


@emulator_app.command("pay-invoice")
def pay_invoice(
    ctx: typer.Context,
    invoice_id: Annotated[str, typer.Argument(help="the invoice's id")],
    amount: Annotated[
        str | None, typer.Option(help="in the pay currency; default: exactly what is due")
    ] = None,
    late: Annotated[bool, typer.Option("--late", help="a payment after expiry")] = False,
) -> None:
    """Pay an invoice as the payer would (exact, partial, over or late)."""
    body: dict[str, Any] = {"late": late}
    if amount is not None:
        body["amount"] = amount
    _control(ctx, "POST", f"/invoices/{path_segment(invoice_id)}/pay", body)


@emulator_app.command("pay-channel")
def pay_channel(
    ctx: typer.Context,
    channel_id: Annotated[str, typer.Argument(help="the channel's id")],
    amount: Annotated[str, typer.Option(help="in the channel's pay currency")],
    currency: Annotated[str | None, typer.Option(help="checked against the channel")] = None,
) -> None:
    """Send a payment to a channel's address."""
    body: dict[str, Any] = {"amount": amount}
    if currency is not None:
        body["currency"] = currency.upper()
    _control(ctx, "POST", f"/channels/{path_segment(channel_id)}/pay", body)


@emulator_app.command("complete-withdrawal")
def complete_withdrawal(
    ctx: typer.Context, withdrawal_id: Annotated[str, typer.Argument(help="a committed payout")]
) -> None:
    """Confirm a committed coin withdrawal on the chain: completed, with a txid."""
    _control(ctx, "POST", f"/coin_withdrawals/{path_segment(withdrawal_id)}/complete")


@emulator_app.command("fail-withdrawal")
def fail_withdrawal(
    ctx: typer.Context, withdrawal_id: Annotated[str, typer.Argument(help="a committed payout")]
) -> None:
    """Mark a committed coin withdrawal failed (not final, as documented)."""
    _control(ctx, "POST", f"/coin_withdrawals/{path_segment(withdrawal_id)}/fail")


@emulator_app.command("advance-clock")
def advance_clock(
    ctx: typer.Context, seconds: Annotated[float, typer.Argument(help="how far ahead", min=0)]
) -> None:
    """Move the emulator clock ahead: invoices expire, commit windows close, retries fire."""
    _control(ctx, "POST", "/clock/advance", {"seconds": seconds})


@emulator_app.command("faults")
def faults(
    ctx: typer.Context,
    latency: Annotated[float | None, typer.Option(help="seconds before processing")] = None,
    error_500_rate: Annotated[float | None, typer.Option()] = None,
    error_503_rate: Annotated[float | None, typer.Option()] = None,
    drop_rate: Annotated[float | None, typer.Option()] = None,
    delay_rate: Annotated[float | None, typer.Option()] = None,
    delay_seconds: Annotated[float | None, typer.Option(help="after processing")] = None,
    callback_drop_rate: Annotated[
        float | None, typer.Option(help="callbacks never delivered")
    ] = None,
    callback_duplicate_rate: Annotated[
        float | None, typer.Option(help="callbacks delivered twice")
    ] = None,
    callback_reorder_rate: Annotated[
        float | None, typer.Option(help="callbacks overtaken by later ones")
    ] = None,
    maintenance: Annotated[bool | None, typer.Option("--maintenance/--no-maintenance")] = None,
    seed: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Show the faults, or replace them with the ones given (others off)."""
    given = {
        "latency": latency,
        "error_500_rate": error_500_rate,
        "error_503_rate": error_503_rate,
        "drop_rate": drop_rate,
        "delay_rate": delay_rate,
        "delay_seconds": delay_seconds,
        "callback_drop_rate": callback_drop_rate,
        "callback_duplicate_rate": callback_duplicate_rate,
        "callback_reorder_rate": callback_reorder_rate,
        "maintenance": maintenance,
        "seed": seed,
    }
    body = {name: value for name, value in given.items() if value is not None}
    if body:
        _control(ctx, "PUT", "/faults", body)
    else:
        _control(ctx, "GET", "/faults")


@emulator_app.command("ledger")
def ledger(ctx: typer.Context) -> None:
    """Every money movement so far, in order."""
    _control(ctx, "GET", "/ledger")


@emulator_app.command("webhooks")
def webhooks(ctx: typer.Context) -> None:
    """Every callback queued: body, answers received, next attempt."""
    _control(ctx, "GET", "/webhooks")


@emulator_app.command("reset")
def reset(ctx: typer.Context) -> None:
    """Forget every object, balance change, callback and fault."""
    _control(ctx, "POST", "/reset")
