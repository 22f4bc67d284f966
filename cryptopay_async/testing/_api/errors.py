"""Error answers as the API gives them, with the detail messages of the recorded bodies."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]


class ApiError(Exception):
    """An error answer with the documented ``{"error": {...}}`` payload."""

    def __init__(
        self, status: int, code: str, message: str, details: list[JSON] | None = None
    ) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


def invalid(target: str, code: str, message: str, **args: Any) -> ApiError:
    """A 422 ``invalid`` answer with one detail."""
    detail = {"code": code, "target": target, "message": message, "args": args}
    return ApiError(422, "invalid", "invalid", [detail])


def not_in_list(target: str, allowed: list[str]) -> ApiError:
    """As recorded: ``must be one of: BTC, LTC, XRP, ETH, BCH`` with ``args.list``."""
    return invalid(
        target, "must_be_included_in", f"must be one of: {', '.join(allowed)}", list=allowed
    )


def not_uuid(target: str) -> ApiError:
    """As recorded for path ids and ``starting_after``."""
    return invalid(target, "must_be_uuid", "must match uuid format")


def invalid_address(target: str, currency: str) -> ApiError:
    """As recorded: ``must be a valid BTC address`` with ``args.currency``."""
    return invalid(
        target, "invalid_coin_address", f"must be a valid {currency} address", currency=currency
    )


def not_found() -> ApiError:
    return ApiError(404, "not_found", "not found")


def bad_request(message: str) -> ApiError:
    return ApiError(400, "bad_request", message)
