"""Mock LLM upstream for relay's integration tests and benchmarks (OpenAI, Anthropic, Gemini).

Usage: python bench/mock_upstream.py --host 127.0.0.1 --port 0 [--latency-ms N]
Prints ``READY port=<port>`` once listening; exits 0 on SIGTERM/SIGINT.

Behaviour is selected by the API key: ``name;opt=value;...`` (see ``mock_wire.common.Opts``).
The formats live in ``bench/mock_wire/``; this script is the entry point tests and benchmarks run.
Self-contained on purpose: it must not import the ``relay`` package.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mock_wire.server import main

if __name__ == "__main__":
    sys.exit(main())
