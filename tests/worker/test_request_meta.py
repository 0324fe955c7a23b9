"""relay.worker.request_meta: request ids in new-api's format."""

from __future__ import annotations

import calendar
import hashlib
import re
import time

from relay.worker.request_meta import RequestIds

ID_PATTERN = re.compile(r"(\d{14})(\d{9})([0-9a-f]{8})([0-9A-Za-z]{8})")


def test_request_id_format() -> None:
    ids = RequestIds("node-a")
    before = time.time()
    rid = ids.new()
    after = time.time()
    assert len(rid) == 39
    match = ID_PATTERN.fullmatch(rid)
    assert match is not None
    stamp, nanos, prefix, _ = match.groups()
    assert prefix == hashlib.sha256(b"node-a").hexdigest()[:8]
    seconds = calendar.timegm(time.strptime(stamp, "%Y%m%d%H%M%S"))  # the stamp is UTC
    assert int(before) <= seconds <= after
    assert 0 <= int(nanos) < 1_000_000_000


def test_request_ids_are_unique() -> None:
    ids = RequestIds("node-a")
    many = [ids.new() for _ in range(20_000)]
    assert len(set(many)) == len(many)


def test_node_prefix_differs_per_node() -> None:
    a, b = RequestIds("node-a").new(), RequestIds("node-b").new()
    assert a[23:31] != b[23:31]
    assert RequestIds("node-a").new()[23:31] == a[23:31]
