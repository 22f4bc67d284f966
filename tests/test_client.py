from __future__ import annotations

from typing import Any

import attrs
import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cryptopay_async import AsyncCryptopay, RetryPolicy
from cryptopay_async.ratelimit import TokenBucket, shared_limiter
from tests.support import (
    API_SECRET,
    ROOT,
    Recorder,
    count_new_ssl_contexts,
    fixture_json,
    json_response,
    recorded_client,
)


@pytest.mark.parametrize(
    ("kwargs", "env", "argument", "env_var"),
    [
        ({}, {}, "api_key", "CRYPTOPAY_API_KEY"),
        ({"api_key": "k"}, {}, "api_secret", "CRYPTOPAY_API_SECRET"),
        ({"api_key": "", "api_secret": "s"}, {}, "api_key", "CRYPTOPAY_API_KEY"),
        ({"api_key": "k", "api_secret": ""}, {}, "api_secret", "CRYPTOPAY_API_SECRET"),
        (
            {},
            {"CRYPTOPAY_API_KEY": "k", "CRYPTOPAY_API_SECRET": ""},
            "api_secret",
            "CRYPTOPAY_API_SECRET",
        ),
        ({"api_secret": "s"}, {"CRYPTOPAY_API_KEY": ""}, "api_key", "CRYPTOPAY_API_KEY"),
    ],
)
def test_missing_credentials_name_the_argument_and_env_var(
    monkeypatch: pytest.MonkeyPatch,
    kwargs: dict[str, Any],
    env: dict[str, str],
    argument: str,
    env_var: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError) as caught:
        AsyncCryptopay(**kwargs)
    assert argument in str(caught.value)
    assert env_var in str(caught.value)


def test_credentials_and_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRYPTOPAY_API_KEY", "env-key")
    monkeypatch.setenv("CRYPTOPAY_API_SECRET", "env-secret")
    monkeypatch.setenv("CRYPTOPAY_CALLBACK_SECRET", "env-callback")
    monkeypatch.setenv("CRYPTOPAY_ENVIRONMENT", "production")
    client = AsyncCryptopay()
    assert client.api_key == "env-key"
    assert client.callback_secret == "env-callback"
    assert client.base_url == "https://business.cryptopay.me"
    monkeypatch.setenv("CRYPTOPAY_BASE_URL", "http://127.0.0.1:8080/")
    assert AsyncCryptopay().base_url == "http://127.0.0.1:8080"
    # Arguments win over the environment.
    assert AsyncCryptopay(api_key="arg-key").api_key == "arg-key"


@pytest.mark.parametrize(
    ("environment", "url"),
    [
        (None, "https://business-sandbox.cryptopay.me"),
        ("sandbox", "https://business-sandbox.cryptopay.me"),
        ("production", "https://business.cryptopay.me"),
    ],
)
def test_environments(environment: str | None, url: str) -> None:
    assert AsyncCryptopay(api_key="k", api_secret="s", environment=environment).base_url == url


def test_unknown_environment_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"'staging'.*'sandbox', 'production'"):
        AsyncCryptopay(api_key="k", api_secret="s", environment="staging")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://h", "absolute http"),
        ("not a url", "absolute http"),
        ("/relative", "absolute http"),
        ("https://h/?q=1", "query"),
        ("http://127.0.0.1:80800", "port 80800, not 1 to 65535"),
        ("http://127.0.0.1:0", "port 0"),
        ("http://:8080", "absolute http"),
        ("http://my host:8080", "no valid host"),
        ("http://-host-.example", "no valid host"),
    ],
)
def test_bad_base_url_is_refused_at_construction(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=f"base_url .*{problem}|base_url {problem}"):
        AsyncCryptopay(api_key="k", api_secret="s", base_url=url)


def test_a_bad_base_url_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRYPTOPAY_BASE_URL", "http://127.0.0.1:80800")
    with pytest.raises(ValueError, match="CRYPTOPAY_BASE_URL has port 80800"):
        AsyncCryptopay(api_key="k", api_secret="s")


_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9_-]{0,10}[a-z0-9])?", fullmatch=True)
HOSTS = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda address: f"[{address}]"),
    # A name, not digits and dots: "0.0.0.00" reads as a (bad) IPv4 address, not a name.
    st.lists(_LABEL, min_size=1, max_size=4)
    .map(".".join)
    .filter(lambda name: not name.replace(".", "").isdigit()),
)


@settings(max_examples=200, deadline=None)
@given(
    scheme=st.sampled_from(["http", "https", "ftp", "ws"]),
    host=HOSTS,
    port=st.one_of(st.none(), st.integers(-1, 200_000)),
    path=st.sampled_from(["", "/", "/api-root"]),
)
@example(scheme="https", host="0.0.0.0", port=443, path="")  # the scheme's own port
@example(scheme="http", host="0.0.0.00", port=None, path="").xfail(raises=ValueError)
def test_a_base_url_is_accepted_exactly_when_a_request_can_go_to_it(
    scheme: str, host: str, port: int | None, path: str
) -> None:
    url = f"{scheme}://{host}{'' if port is None else f':{port}'}{path}"
    valid = scheme in ("http", "https") and (port is None or 0 < port < 65536)
    if not valid:
        with pytest.raises(ValueError, match="base_url"):
            AsyncCryptopay(api_key="k", api_secret="s", base_url=url, rate_limiter=None)
        return
    client = AsyncCryptopay(api_key="k", api_secret="s", base_url=url, rate_limiter=None)
    parsed = httpx.URL(client.base_url)
    default = {"http": 80, "https": 443}[scheme]  # a URL leaves out its scheme's own port
    assert (parsed.scheme, parsed.port) == (scheme, None if port == default else port)
    assert parsed.host == httpx.URL(f"http://{host}").host


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_base_url_text_is_refused_with_a_value_error_or_leads_somewhere(url: str) -> None:
    try:
        client = AsyncCryptopay(api_key="k", api_secret="s", base_url=url, rate_limiter=None)
    except ValueError:
        return
    parsed = httpx.URL(client.base_url)
    assert parsed.scheme in ("http", "https")
    assert parsed.host
    assert parsed.port is None or 0 < parsed.port < 65536


@pytest.mark.parametrize(
    "url", ["https://user:hunter2@h", "https://user:hunter2@h/?q=1", "http://:hunter2@127.0.0.1:1"]
)
def test_a_base_url_with_credentials_is_refused_without_echoing_them(url: str) -> None:
    # httpx would turn them into a Basic Authorization header over the signed HMAC one,
    # and repr() showed them.
    with pytest.raises(ValueError, match="base_url must not carry a user name or password") as e:
        AsyncCryptopay(api_key="k", api_secret="s", base_url=url)
    assert "hunter2" not in str(e.value)


@pytest.mark.parametrize(
    ("settings", "error", "named"),
    [
        ({"base_url": 12}, TypeError, "base_url"),
        ({"timeout": float("nan")}, ValueError, "timeout"),
        ({"timeout": -1}, ValueError, "timeout"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": httpx.Timeout(5, read=-1.0)}, ValueError, "timeout"),
        ({"timeout": "5"}, TypeError, "timeout"),
        ({"http_client": 42}, TypeError, "http_client"),
        ({"rate_limiter": "x"}, TypeError, "rate_limiter"),
    ],
    ids=repr,
)
def test_unusable_settings_are_refused_when_the_client_is_built(
    settings: dict[str, Any], error: type[Exception], named: str
) -> None:
    # Each was accepted and failed at the first call: NaN as anyio's "deadline must not
    # be NaN", -1 as a timeout after 3 attempts, the others as AttributeError.
    with pytest.raises(error, match=named):
        AsyncCryptopay(api_key="k", api_secret="s", **settings)


def test_with_options_refuses_an_unusable_timeout() -> None:
    client = AsyncCryptopay(api_key="k", api_secret="s")
    with pytest.raises(ValueError, match="timeout"):
        client.with_options(timeout=float("nan"))


@pytest.mark.parametrize("value", ["key with space", "key\n", " key"])
def test_credentials_with_whitespace_are_refused_without_echoing_them(value: str) -> None:
    with pytest.raises(ValueError) as caught:
        AsyncCryptopay(api_key="k", api_secret=value)
    assert value.strip() not in str(caught.value)


@pytest.mark.parametrize("argument", ["api_key", "api_secret", "callback_secret"])
@pytest.mark.parametrize("value", ["key\udcff", "ключ", "key\u00e9"])
def test_non_ascii_credentials_are_a_value_error_naming_the_argument(
    argument: str, value: str
) -> None:
    settings: dict[str, Any] = {"api_key": "k", "api_secret": "s", argument: value}
    with pytest.raises(ValueError, match=f"{argument} contains characters outside") as caught:
        AsyncCryptopay(**settings)
    assert value not in str(caught.value)


def test_repr_hides_the_secrets() -> None:
    client = AsyncCryptopay(api_key="KEYKEYKEY", api_secret=API_SECRET, callback_secret="cbsecret")
    text = repr(client) + repr(client.__dict__)
    assert API_SECRET not in text
    assert "cbsecret" not in repr(client)
    assert "KEYKEYKEY" not in repr(client)


@pytest.mark.parametrize(
    ("settings", "shown"),
    [
        ({}, "AsyncCryptopay(base_url=None, api_key=None)"),
        ({"api_key": "KEYKEYKEY"}, "AsyncCryptopay(base_url=None, api_key=None)"),
        (
            {"api_key": "KEYKEYKEY", "api_secret": API_SECRET, "environment": "staging"},
            "AsyncCryptopay(base_url=None, api_key='KEY…')",
        ),
    ],
    ids=["no-credentials", "no-secret", "unknown-environment"],
)
def test_repr_of_a_client_whose_init_raised(settings: dict[str, str], shown: str) -> None:
    """What a debugger, ``--showlocals`` or an error tracker prints for ``self``."""
    with pytest.raises(ValueError) as caught:
        AsyncCryptopay(**settings)  # type: ignore[arg-type]
    tb = caught.value.__traceback__
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    half = next(f.f_locals["self"] for f in frames if f.f_code.co_name == "__init__")
    assert repr(half) == shown
    assert repr(object.__new__(AsyncCryptopay)) == "AsyncCryptopay(base_url=None, api_key=None)"


@pytest.mark.anyio
async def test_a_caller_owned_http_client_is_never_closed() -> None:
    http = httpx.AsyncClient()
    async with AsyncCryptopay(api_key="k", api_secret="s", http_client=http):
        pass
    assert not http.is_closed
    await http.aclose()


@pytest.mark.anyio
async def test_an_owned_pool_is_closed_by_the_client_not_by_its_derivatives() -> None:
    client = AsyncCryptopay(api_key="k", api_secret="s")
    derived = client.with_options(timeout=5.0, max_retries=0)
    await derived.aclose()
    assert not client._runtime.http.is_closed
    await client.aclose()
    assert client._runtime.http.is_closed


@pytest.mark.anyio
async def test_with_options_shares_pool_and_limiter_and_changes_only_what_it_says() -> None:
    recorder = Recorder(
        lambda r: json_response(200, fixture_json("responses-2023/invoices/retrieve.json"))
    )
    limiter = TokenBucket(rate=100, period=1.0)
    async with recorded_client(recorder, rate_limiter=limiter) as client:
        derived = client.with_options(timeout=3.5, max_retries=5)
        assert derived._runtime.http is client._runtime.http
        assert derived.rate_limiter is client.rate_limiter is limiter
        assert derived.retry_policy.max_retries == 5
        assert client.retry_policy.max_retries == 2
        await derived.invoices.retrieve("c8233d57-78c8-4c36-b35e-940ae9067c78")
        await client.invoices.retrieve("c8233d57-78c8-4c36-b35e-940ae9067c78")
    timeouts = [r.extensions["timeout"]["read"] for r in recorder.requests]
    assert timeouts == [3.5, 30.0]


def test_clients_for_one_key_share_the_default_limiter() -> None:
    a = AsyncCryptopay(api_key="shared-key", api_secret="s")
    b = AsyncCryptopay(api_key="shared-key", api_secret="other")
    c = AsyncCryptopay(api_key="other-key", api_secret="s")
    assert a.rate_limiter is b.rate_limiter is shared_limiter("shared-key")
    assert c.rate_limiter is not a.rate_limiter
    assert AsyncCryptopay(api_key="k", api_secret="s", rate_limiter=None).rate_limiter is None


def test_construction_reuses_one_ssl_context(monkeypatch: pytest.MonkeyPatch) -> None:
    built = count_new_ssl_contexts(monkeypatch)
    for _ in range(5):
        AsyncCryptopay(api_key="k", api_secret="s")
    assert built == []


def test_no_finalizer_schedules_cleanup() -> None:
    assert "__del__" not in vars(AsyncCryptopay)


def test_max_retries_keeps_every_other_retry_setting() -> None:
    policy = RetryPolicy(initial_backoff=0.1, unsafe_statuses=frozenset({429}), jitter=0)
    client = AsyncCryptopay(api_key="k", api_secret="s", retry_policy=policy, max_retries=5)
    derived = client.with_options(max_retries=1)
    for current, retries in ((client.retry_policy, 5), (derived.retry_policy, 1)):
        assert current.max_retries == retries
        assert current.unsafe_statuses == frozenset({429})
        assert (current.initial_backoff, current.jitter) == (0.1, 0)


def test_settings_are_immutable_and_derived_clients_share_only_the_runtime() -> None:
    client = AsyncCryptopay(api_key="k", api_secret="s", timeout=7.0)
    derived = client.with_options(max_retries=0)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        client._settings.base_url = "https://elsewhere"  # type: ignore[misc]
    assert derived._runtime is client._runtime
    assert derived._sender is not client._sender
    assert derived._settings == attrs.evolve(
        client._settings, retry_policy=attrs.evolve(client.retry_policy, max_retries=0)
    )
    assert derived.invoices is not client.invoices
    assert derived.timeout == client.timeout == httpx.Timeout(7.0)


def test_resources_and_callbacks_never_import_the_client() -> None:
    import ast

    package = ROOT / "cryptopay_async"
    modules = [*sorted((package / "resources").glob("*.py")), package / "callbacks/_client.py"]
    for module in modules:
        tree = ast.parse(module.read_text())
        imported = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module is not None
        }
        assert "cryptopay_async._client" not in imported, module.name


def test_every_resource_is_an_attribute_of_the_client() -> None:
    from cryptopay_async.resources import RESOURCE_NAMES

    client = AsyncCryptopay(api_key="k", api_secret="s")
    assert set(RESOURCE_NAMES) <= set(AsyncCryptopay.__annotations__)
    assert {type(getattr(client, name)).__name__.lower() for name in RESOURCE_NAMES} == {
        name.replace("_", "") for name in RESOURCE_NAMES
    }


@pytest.mark.parametrize(
    ("options", "retries"),
    [
        ({}, 2),
        ({"max_retries": 4}, 4),
        ({"retry_policy": RetryPolicy(max_retries=6)}, 6),  # was silently 2
        ({"retry_policy": RetryPolicy(max_retries=6), "max_retries": 1}, 1),
        ({"retry_policy": RetryPolicy(max_retries=0, initial_backoff=0)}, 0),
    ],
)
def test_a_retry_policy_keeps_its_own_count_unless_max_retries_is_given(
    options: dict[str, Any], retries: int
) -> None:
    client = AsyncCryptopay(api_key="k", api_secret="s", rate_limiter=None, **options)
    assert client.retry_policy.max_retries == retries
