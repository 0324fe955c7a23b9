"""The control plane: the admin API process and its background jobs."""
