"""Greenlight: review, promote and roll back versioned AI-agent personas.

This package is the domain: models, services, locking, idempotency. It imports
neither FastAPI nor Celery; `api/` and `workers/` are thin shells around it.
"""
