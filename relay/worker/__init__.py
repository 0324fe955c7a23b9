"""A worker process: the uvloop + aiohttp server of the relay API."""
