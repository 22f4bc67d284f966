"""The app ``test_uvicorn_workers.py`` serves with ``uvicorn --workers 4``.

Configured from the environment (set by the test): the callback secret, the Redis URL
and key prefix of the shared store, and a file where each handled event gets one line
``<pid> <invoice id>`` (appends of one short line are atomic, so workers can share it).
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from cryptopay_async.callbacks import Callback, RedisDeliveryStore
from cryptopay_async.integrations.fastapi import callback_router

HANDLED_FILE = os.environ.get("TEST_HANDLED_FILE", "handled.log")


async def on_callback(event: Callback) -> None:
    line = f"{os.getpid()} {getattr(event.data, 'id', '?')}\n".encode()
    fd = os.open(HANDLED_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


app = FastAPI()
app.include_router(
    callback_router(
        on_callback,
        store=RedisDeliveryStore(
            os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
            prefix=os.environ.get("TEST_REDIS_PREFIX", "test:"),
        ),
    )
)


@app.get("/pid")
async def pid() -> int:
    return os.getpid()
