"""The built wheel carries everything relay reads at run time (not only the .py files)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_wheel_contains_data_files_and_compiled_modules(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("relay-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "relay/billing/defaults.json",
        "relay/quota/lua/admit.lua",
        "relay/quota/lua/settle.lua",
        "relay/store/migrations/env.py",
        "relay/store/migrations/script.py.mako",
        "relay/store/migrations/versions/0001_initial_schema.py",
    ):
        assert required in names, required
    for module in ("sse", "tokens", "ratio", "text"):
        assert any(n.startswith(f"relay/_fast/_{module}_c.") and n.endswith(".so") for n in names)
