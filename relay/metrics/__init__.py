"""Prometheus metrics: plain counters in every process, summed in Redis, rendered by admin.

`registry` records on the hot path, `flusher` ships the deltas to Redis once a second,
`exposition` reads the node's sums back and renders the Prometheus text format.
"""
