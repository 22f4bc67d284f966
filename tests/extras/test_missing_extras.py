"""Each optional feature, used on an install without its extra, names the extra to install.

Every case runs in its own interpreter where the extra's modules cannot be found (a
meta-path finder refuses them, as on a core install), then does what a user would:
import the emulator, run ``python -m cryptopay_async.testing serve``, load the pytest
plugin, import an integration, run the ``cryptopay`` command.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from cryptopay_async._extras import install_hint, needs_extra

# Runs `code` with `blocked` (top-level names) unimportable, as if not installed.
WITHOUT = """
import runpy, sys

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

for loaded in [name for name in sys.modules if name.partition(".")[0] in {blocked!r}]:
    del sys.modules[loaded]
sys.meta_path.insert(0, NotInstalled())
{code}
"""

EMULATOR = "the emulator (cryptopay_async.testing)"
CASES = [
    # (what the user runs, the modules missing, the extra, what needs it)
    (
        "from cryptopay_async.testing import CryptopayEmulator",
        {"starlette"},
        "testing",
        EMULATOR,
    ),
    (
        "sys.argv = ['x', 'serve', '--port', '0']\n"
        "runpy.run_module('cryptopay_async.testing', run_name='__main__', alter_sys=True)",
        {"starlette", "uvicorn"},
        "testing",
        EMULATOR,
    ),
    (
        "import pytest\n"
        "sys.exit(pytest.main(['-p', 'cryptopay_async.testing.pytest_plugin', '--co', '-q',"
        " '-p', 'no:cacheprovider', '--rootdir', '.', '--noconftest', 'no-such-dir']))",
        {"starlette", "uvicorn"},
        "testing",
        EMULATOR,
    ),
    (
        "import cryptopay_async.integrations.fastapi",
        {"fastapi", "starlette"},
        "fastapi",
        "cryptopay_async.integrations.fastapi",
    ),
    (
        "import cryptopay_async.integrations.aiohttp",
        {"aiohttp"},
        "aiohttp",
        "cryptopay_async.integrations.aiohttp",
    ),
    (
        "sys.argv = ['cryptopay', 'rates']\n"
        "runpy.run_module('cryptopay_async', run_name='__main__', alter_sys=True)",
        {"starlette", "uvicorn"},
        "cli",
        "the cryptopay command",
    ),
]


@pytest.mark.parametrize(("code", "blocked", "extra", "what"), CASES)
def test_a_missing_extra_is_named_with_the_command_that_installs_it(
    code: str, blocked: set[str], extra: str, what: str
) -> None:
    script = WITHOUT.format(blocked=sorted(blocked), code=code)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert install_hint(extra, what) in output
    assert f'pip install "cryptopay-async[{extra}]"' in output
    assert "No module named" not in output


def test_a_missing_module_the_extra_does_not_provide_is_not_explained_away() -> None:
    with (
        pytest.raises(ModuleNotFoundError, match="No module named 'no_such_module'"),
        needs_extra("testing", "the emulator"),
    ):
        import no_such_module  # type: ignore[import-not-found]  # noqa: F401


def test_the_explained_error_is_still_a_module_not_found_error_for_the_same_module() -> None:
    script = WITHOUT.format(
        blocked=["starlette"],
        code=textwrap.dedent("""
            try:
                import cryptopay_async.testing
            except ModuleNotFoundError as exc:
                print(exc.name)
        """),
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip().startswith("starlette"), done.stderr
