"""Benchmarks: Greenlight measured against the limit (no-op Celery, trivial FastAPI) and a naive pipeline.

`python -m bench [--quick] [--record]`; see bench/README.md.
"""
