"""Type stub for the compiled text splicing; same API as ``_text_py``."""

from collections.abc import Callable, Sequence

from relay._fast.sse import SSEEvent

__all__ = ["MAX_DEPTH", "splice_texts", "value_end"]

MAX_DEPTH: int

def value_end(data: bytes, i: int, end: int, depth: int = 0) -> int: ...
def splice_texts(
    events: Sequence[SSEEvent],
    start: int,
    prefix: bytes,
    suffix: bytes,
    hole_tail: bytes | None,
    head: bytes,
    seq: int,
    mid: bytes,
    tail: bytes,
    sink: Callable[[str], None],
    texts: list[str] | None,
) -> tuple[bytes, int]: ...
