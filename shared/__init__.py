"""Small mechanisms every layer uses (a bounded cache, HTTP sessions); imports nothing of ours.

The bottom layer (docs/architecture.md, "Layers"): one helper per mechanism, so a cache or a
session is written, bounded and closed the same way everywhere.
"""
