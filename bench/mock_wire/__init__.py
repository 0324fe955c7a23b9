"""The mock LLM upstream behind bench/mock_upstream.py: one module per wire format.

Self-contained on purpose: nothing here imports the ``relay`` package.
"""
