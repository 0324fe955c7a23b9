"""The relay pipeline: intake, admission, forwarding with retries, streaming and settlement."""
