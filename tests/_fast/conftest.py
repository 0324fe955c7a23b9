"""Fixtures for the compiled/pure twin tests of relay._fast.

Each test module sets ``TWIN = "<name>"``; ``impl`` is then ``relay._fast._<name>_py``
and ``relay._fast._<name>_c`` in turn, ``py``/``c`` give one twin each.  A missing
compiled module is an error, not a skip (see test_loaded.py), unless
RELAY_NO_EXTENSIONS is set.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

NO_EXTENSIONS = os.environ.get("RELAY_NO_EXTENSIONS", "") not in ("", "0")


def load_twin(name: str, kind: str) -> ModuleType:
    if kind == "c" and NO_EXTENSIONS:
        pytest.skip("RELAY_NO_EXTENSIONS is set: compiled twins not under test")
    return importlib.import_module(f"relay._fast._{name}_{kind}")


@pytest.fixture(params=["py", "c"], scope="module")
def impl(request: pytest.FixtureRequest) -> ModuleType:
    return load_twin(request.module.TWIN, request.param)


@pytest.fixture(scope="module")
def py(request: pytest.FixtureRequest) -> ModuleType:
    return load_twin(request.module.TWIN, "py")


@pytest.fixture(scope="module")
def c(request: pytest.FixtureRequest) -> ModuleType:
    return load_twin(request.module.TWIN, "c")
