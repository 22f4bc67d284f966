"""``app_info``: the application's name in the User-Agent, and hostile values refused."""

from __future__ import annotations

import pytest

from cryptopay_async import AsyncCryptopay
from cryptopay_async._runtime._runtime import USER_AGENT
from tests.fake_server import FakeCryptopay
from tests.support import API_KEY, API_SECRET, serve_asgi

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("argument", "environment", "sent"),
    [
        ("my-shop/1.4", None, f"{USER_AGENT} my-shop/1.4"),
        (None, "shop (+https://shop.example)", f"{USER_AGENT} shop (+https://shop.example)"),
        ("argument/1", "environment/2", f"{USER_AGENT} argument/1"),
        (None, None, USER_AGENT),
    ],
)
async def test_app_info_is_appended_to_the_user_agent(
    monkeypatch: pytest.MonkeyPatch, argument: str | None, environment: str | None, sent: str
) -> None:
    if environment is not None:
        monkeypatch.setenv("CRYPTOPAY_APP_INFO", environment)
    app = FakeCryptopay()
    with serve_asgi(app) as url:
        async with AsyncCryptopay(
            api_key=API_KEY,
            api_secret=API_SECRET,
            base_url=url,
            rate_limiter=None,
            app_info=argument,
        ) as client:
            await client.invoices.retrieve("inv-1")
            await client.with_options(timeout=5).invoices.retrieve("inv-2")
    assert [headers["user-agent"] for headers, _ in app.received] == [sent, sent]


@pytest.mark.parametrize(
    ("app_info", "problem"),
    [
        ("shop/1\r\nX-Injected: yes", "printable ASCII"),
        ("shop/1\n", "printable ASCII"),
        ("shop\x00", "printable ASCII"),
        ("shop\x7f", "printable ASCII"),
        ("boutique/é", "printable ASCII"),
        ("x" * 201, "201 characters long, at most 200"),
        ("   ", "app_info is empty"),
    ],
)
def test_hostile_app_info_is_refused(app_info: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        AsyncCryptopay(api_key="k", api_secret="s", app_info=app_info)


def test_hostile_app_info_from_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTOPAY_APP_INFO", "shop\r\nHost: evil")
    with pytest.raises(ValueError, match="printable ASCII"):
        AsyncCryptopay(api_key="k", api_secret="s")


def test_two_hundred_characters_are_accepted() -> None:
    AsyncCryptopay(api_key="k", api_secret="s", app_info="x" * 200)
