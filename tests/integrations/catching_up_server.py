"""Serve ``examples.catching_up`` on uvicorn with time scaled down, as its own process.

``python -m tests.integrations.catching_up_server PORT EVERY LEASE``: the client's
limiter allows 200 requests per 2 s instead of per minute (the sweeper takes its tenth
of that), the sweep starts every EVERY seconds, and a claim lapses LEASE seconds after
its handler's last sign of life. Settings come from the environment
(``CRYPTOPAY_*``, ``SHOP_*``), as in production.
"""

from __future__ import annotations

import sys

import uvicorn

from cryptopay_async.ratelimit import TokenBucket
from examples.catching_up import make_app

RATE, PERIOD = 200, 2.0


def main() -> None:
    port, every, lease = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    app = make_app(every=every, lease=lease, rate_limiter=TokenBucket(RATE, PERIOD))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
