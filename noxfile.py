"""Developer tasks: ``nox -s tests``, ``lint``, ``typecheck``, ``docs``."""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "docs"]  # `nox` alone; bench, demo by name
nox.options.reuse_existing_virtualenvs = True

# The package with every extra, plus the `dev` dependency group of pyproject.toml (read
# here, so the session's pip need not support `--group`).
PYPROJECT = nox.project.load_toml("pyproject.toml")
DEVELOP = ("-e", ".[all]", *nox.project.dependency_groups(PYPROJECT, "dev"))


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, every async test under asyncio and trio."""
    session.install(*DEVELOP)
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, and the layer order (import-linter)."""
    session.install("ruff==0.17.6", "import-linter==2.17", "-e", ".")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package, the tests and the benchmarks; pyright over what
    users see: every public symbol fully typed, and tests/typing/ as users write it."""
    session.install(*DEVELOP)
    session.run("mypy")
    session.run("pyright", "--verifytypes", "cryptopay_async", "--ignoreexternal")
    session.run("pyright", "tests/typing")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into site/; broken links and references fail it.

    ``nox -s docs -- serve`` serves it on 127.0.0.1:8000 instead, rebuilt on each edit.
    """
    session.install("-e", ".[all]", *nox.project.dependency_groups(PYPROJECT, "docs"))
    if session.posargs[:1] == ["serve"]:
        session.run("mkdocs", "serve", "--strict", "--dev-addr", "127.0.0.1:8000")
    else:
        session.run("mkdocs", "build", "--strict", *session.posargs)


@nox.session
def codegen(session: nox.Session) -> None:
    """Regenerate models, operations and callback events from codegen/api/*.json."""
    session.install("-e", ".")
    session.run("python", "-m", "codegen", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: each script prints a table; then benchmarks/RESULTS.md and the plot."""
    session.install(*DEVELOP)
    if shutil.which("npm"):  # the Node reference client of bench_http.py (axios)
        session.run("npm", "ci", "--prefix", "benchmarks/node", external=True)
    scripts = ["bench_http.py", "bench_decode.py", "bench_limiter.py", "bench_client.py"]
    scripts += ["bench_otel.py"]
    scripts += ["bench_redis.py", "bench_sweep.py", "bench_batch.py"]  # these need redis-server
    scripts += ["profile_call.py", "bench_emulator.py"]
    for script in scripts:
        session.run("python", str(Path("benchmarks") / script))
    session.run("python", "benchmarks/report.py")


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: `cryptopay demo` against the built-in emulator (no credentials)."""
    session.install("-e", ".[cli]")
    session.run("cryptopay", "demo", *session.posargs)
