"""Helpers of the metrics tests: a small, strict parser of the Prometheus text exposition
format, and stand-ins for the pipeline's Call."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"^({_NAME})(?:\{{(.*)\}})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')


@dataclass
class Family:
    name: str
    type: str = "untyped"
    help: str = ""
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)


def _unescape(value: str) -> str:
    return value.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")


def _labels(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        m = _LABEL.match(text, pos)
        assert m, f"bad labels: {text!r}"
        out[m.group(1)] = _unescape(m.group(2))
        pos = m.end()
    return out


def _family_name(sample: str, families: dict[str, Family]) -> str:
    for suffix in ("_bucket", "_count", "_sum"):
        base = sample.removesuffix(suffix)
        if base != sample and base in families and families[base].type == "histogram":
            return base
    return sample


def parse(text: str) -> dict[str, Family]:
    """Families by name; asserts the text is well formed (TYPE before samples, no repeats)."""
    assert text.endswith("\n")
    families: dict[str, Family] = {}
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, doc = line[7:].partition(" ")
            families.setdefault(name, Family(name)).help = doc
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert kind in {"counter", "gauge", "histogram", "summary", "untyped"}, line
            families.setdefault(name, Family(name)).type = kind
        else:
            m = _SAMPLE.match(line)
            assert m, f"bad sample line: {line!r}"
            sample, labels = m.group(1), _labels(m.group(2) or "")
            key = (sample, tuple(sorted(labels.items())))
            assert key not in seen, f"repeated sample {line!r}"
            seen.add(key)
            family = _family_name(sample, families)
            assert family in families, f"sample before its TYPE: {line!r}"
            value = float(m.group(3).replace("+Inf", "inf"))
            families[family].samples.append((sample, labels, value))
    return families


def value(families: dict[str, Family], sample: str, **labels: str) -> float:
    """The one sample named `sample` with exactly these labels, or 0 when absent."""
    base = _family_name(sample, families)
    for name, found, v in families[base].samples if base in families else []:
        if name == sample and found == labels:
            return v
    return 0.0


def total(families: dict[str, Family], sample: str, **match: str) -> float:
    """The sum over samples named `sample` whose labels include `match`."""
    base = _family_name(sample, families)
    return sum(
        v
        for name, found, v in (families[base].samples if base in families else [])
        if name == sample and all(found.get(k) == x for k, x in match.items())
    )


def check_histograms(families: dict[str, Family]) -> int:
    """Every histogram series: cumulative buckets ending in +Inf = _count; returns series seen."""
    checked = 0
    for family in families.values():
        if family.type != "histogram":
            continue
        series: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
        counts: dict[tuple[tuple[str, str], ...], float] = {}
        sums: dict[tuple[tuple[str, str], ...], float] = {}
        for name, labels, v in family.samples:
            base = {k: x for k, x in labels.items() if k != "le"}
            key = tuple(sorted(base.items()))
            if name.endswith("_bucket"):
                series.setdefault(key, []).append((float(labels["le"].replace("+Inf", "inf")), v))
            elif name.endswith("_count"):
                counts[key] = v
            elif name.endswith("_sum"):
                sums[key] = v
        for key, buckets in series.items():
            les = [le for le, _ in buckets]
            assert les == sorted(les) and math.isinf(les[-1]), (family.name, key, les)
            values = [n for _, n in buckets]
            assert values == sorted(values), (family.name, key, values)
            assert values[-1] == counts[key], (family.name, key)
            assert key in sums and sums[key] >= 0
            checked += 1
        assert set(counts) == set(series), family.name
    return checked


def fake_call(request_id: str = "r1", model: str = "gpt-4o", **kw: Any) -> Any:
    """The attributes of a pipeline Call that the metrics hooks read."""
    values: dict[str, Any] = {
        "request_id": request_id,
        "model": model,
        "tried_channels": [],
        "stream": False,
        "first_token_at": 0.0,
        "started": time.time(),
    }
    values.update(kw)
    return SimpleNamespace(**values)
