"""Live balances, holds and rate limits in Redis, each decision one atomic Lua call."""
