"""``python -m cryptopay_async``: the ``cryptopay`` command line."""

from cryptopay_async.cli import main

main()
