"""A Marathon-compatible orchestrator (``roost marathon``): long-running apps on the cluster.

A framework of the master that speaks Marathon's REST API v2, so ``curl`` examples from
Marathon's docs and the ``marathon`` PyPI client work unchanged. See ``docs/marathon.md``.
"""
