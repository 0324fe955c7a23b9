"""relay: a high-throughput, self-hosted LLM API gateway compatible with new-api / one-api."""

__version__ = "0.1.0"
