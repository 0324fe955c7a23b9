"""Type stub for the compiled token estimator; same API as ``_tokens_py``."""

from collections.abc import Callable
from typing import Final, final

__all__ = [
    "FAMILY_CLAUDE",
    "FAMILY_GEMINI",
    "FAMILY_OPENAI",
    "StreamTokenCounter",
    "estimate_tokens",
    "family_for_model",
]

FAMILY_OPENAI: Final = 0
FAMILY_CLAUDE: Final = 1
FAMILY_GEMINI: Final = 2

def family_for_model(model: str) -> int: ...
def estimate_tokens(text: str, family: int) -> int: ...

@final
class StreamTokenCounter:
    def __init__(self, count: Callable[[str], int], segment_chars: int = 4096) -> None: ...
    def feed(self, text: str) -> None: ...
    def total(self) -> int: ...
    @property
    def buffered_chars(self) -> int: ...
