"""The README and the site show the examples exactly as they are in examples/, and they run."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cryptopay_async.testing import CryptopayEmulator
from tests.docs.pages import blocks, pages
from tests.support import ROOT


@pytest.mark.parametrize(
    "name", ["quickstart.py", "fastapi_app.py", "aiohttp_app.py", "otel_fastapi_app.py"]
)
def test_readme_carries_the_tested_example(name: str) -> None:
    """The site includes each example file whole; the README copies the quickstart's code."""
    source = (ROOT / "examples" / name).read_text()
    shown = [block.code for page in pages() for block in blocks(page) if block.lang == "python"]
    assert source.strip() in shown
    if name == "quickstart.py":
        code = source[source.index('"""', 3) + 3 :].strip()
        assert code in (ROOT / "README.md").read_text()


def test_the_quickstart_runs_twice_the_second_time_through_conflict_error(
    cryptopay_server: tuple[CryptopayEmulator, str],
) -> None:
    emulator, url = cryptopay_server
    env = {
        **os.environ,
        "CRYPTOPAY_API_KEY": emulator.api_key,
        "CRYPTOPAY_API_SECRET": emulator.api_secret,
        "CRYPTOPAY_BASE_URL": url,
    }
    runs = [
        subprocess.run(
            [sys.executable, str(ROOT / "examples" / "quickstart.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
    first, second = (run.stdout.splitlines()[0].split()[0] for run in runs)
    assert first == second  # the same invoice: created once, then read back
    assert [i["custom_id"] for i in emulator.api.objects["invoices"].values()] == ["ORDER-42"]
