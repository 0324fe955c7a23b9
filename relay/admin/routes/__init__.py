"""Admin API route groups; each module declares its routes on one `api`."""
