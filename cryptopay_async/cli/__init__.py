"""The ``cryptopay`` command line (extra ``cli``): ``cryptopay --help``."""

from cryptopay_async.cli._app import app, main

__all__ = ["app", "main"]
