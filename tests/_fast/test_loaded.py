"""The selectors load the compiled twins (unless disabled) and honour RELAY_NO_EXTENSIONS."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import relay._fast

NO_EXTENSIONS = os.environ.get("RELAY_NO_EXTENSIONS", "") not in ("", "0")
SELECTORS = ("sse", "tokens", "ratio", "text")
# The directory that holds the relay package, so the child finds the same code.
ROOT = str(Path(relay._fast.__file__).resolve().parents[2])


def _run(code: str, env_value: str) -> str:
    env = {**os.environ, "RELAY_NO_EXTENSIONS": env_value}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@pytest.mark.parametrize("name", SELECTORS)
def test_selector_implementation(name: str) -> None:
    module = importlib.import_module(f"relay._fast.{name}")
    loaded: str = module.IMPLEMENTATION
    assert loaded == ("py" if NO_EXTENSIONS else "c")
    twin = importlib.import_module(f"relay._fast._{name}_{loaded}")
    for public in module.__all__:
        if public != "IMPLEMENTATION":
            assert getattr(module, public) is getattr(twin, public), public


@pytest.mark.parametrize("value", ["1", "yes"])
def test_no_extensions_env_selects_pure(value: str) -> None:
    code = "import relay._fast.{0} as m; print(m.IMPLEMENTATION)"
    for name in SELECTORS:
        assert _run(code.format(name), value) == "py", name


@pytest.mark.skipif(NO_EXTENSIONS, reason="compiled twins disabled")
def test_zero_means_enabled() -> None:
    assert _run("import relay._fast.sse as m; print(m.IMPLEMENTATION)", "0") == "c"


def test_one_exception_class() -> None:
    from relay._fast import _sse_errors, _sse_py, sse

    assert sse.SSELineTooLong is _sse_errors.SSELineTooLong is _sse_py.SSELineTooLong
    if not NO_EXTENSIONS:
        from relay._fast import _sse_c

        assert _sse_c.SSELineTooLong is sse.SSELineTooLong
