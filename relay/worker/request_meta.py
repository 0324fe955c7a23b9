"""Request ids in new-api's format."""

from __future__ import annotations

import hashlib
import random
import time


class RequestIds:
    """new-api's request id: UTC time to the nanosecond, a node prefix, 8 random characters."""

    def __init__(self, node_name: str) -> None:
        self._prefix = hashlib.sha256(node_name.encode()).hexdigest()[:8]
        self._rng = random.Random()
        self._second = -1
        self._stamp = ""

    def new(self) -> str:
        ns = time.time_ns()
        second, fraction = divmod(ns, 1_000_000_000)
        if second != self._second:  # formatting the date is the costly part: once a second
            self._second = second
            self._stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(second))
        return f"{self._stamp}{fraction:09d}{self._prefix}{self._rng.getrandbits(32):08x}"
