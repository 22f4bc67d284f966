"""The API's resources, one class per ``client.<resource>`` attribute."""

from cryptopay_async.resources._invoices import Invoices

__all__ = ["Invoices"]
