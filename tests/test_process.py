"""relay.process: the open-files limit is lifted to the hard limit for the whole process tree."""

from __future__ import annotations

import resource
import subprocess
import sys

_CHILD = """
import resource
from relay.process import raise_open_files_limit
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))
print(raise_open_files_limit(), resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard)
"""


def test_soft_limit_rises_to_the_hard_limit() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True
    ).stdout.split()
    returned, now, hard = (int(x) for x in out)
    assert returned == now
    if hard != resource.RLIM_INFINITY:
        assert now == hard
    else:
        assert now >= 256
