"""A minimal Cryptopay stand-in for throughput benchmarks: fixed bodies, no checks.

Run as ``python benchmarks/_server.py PORT``; serves on 127.0.0.1 only, in its own
process so the server and the clients under test do not share one core's GIL.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aiohttp import web

FIXTURES = Path(__file__).resolve().parent.parent / "cryptopay_async/testing/data/responses-2023"


def bodies() -> tuple[bytes, bytes]:
    single = (FIXTURES / "invoices/create.json").read_bytes()
    page = json.loads((FIXTURES / "invoices/list.json").read_bytes())
    page["data"] = (page["data"] * 2)[:50]
    return single, json.dumps(page).encode()


def make_app() -> web.Application:
    single, page = bodies()
    headers = {"Content-Type": "application/json; charset=utf-8"}

    async def invoice(request: web.Request) -> web.Response:
        return web.Response(body=single, headers=headers)

    async def invoices(request: web.Request) -> web.Response:
        return web.Response(body=page, headers=headers)

    app = web.Application()
    app.router.add_get("/api/invoices/{invoice_id}", invoice)
    app.router.add_get("/api/invoices", invoices)
    return app


if __name__ == "__main__":
    web.run_app(
        make_app(),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        access_log=None,
        print=None,
        backlog=4096,
    )
