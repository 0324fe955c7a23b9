"""SQL storage: the One-API-compatible schema, its migrations, and the queries relay runs."""
