"""The Anthropic Messages provider (new-api channel type 14)."""
