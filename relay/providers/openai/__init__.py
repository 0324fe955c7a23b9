"""OpenAI and the OpenAI-compatible family (same wire format, different base URLs)."""
