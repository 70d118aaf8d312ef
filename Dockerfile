# One image for every Greenlight process: api, worker, beat, flower, migrate.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY greenlight ./greenlight
COPY api ./api
COPY workers ./workers
COPY cli ./cli
COPY migrations ./migrations
COPY alembic.ini ./
RUN pip install --no-cache-dir -e . && useradd --create-home greenlight
USER greenlight

EXPOSE 8000 5555
# The API as in production: gunicorn with uvicorn workers (GREENLIGHT_API_WORKERS).
CMD ["greenlight", "api", "--host", "0.0.0.0", "--port", "8000"]
