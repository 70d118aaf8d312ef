"""The OpenAPI document, with two corrections to what FastAPI generates:

- Auth: FastAPI lists the security schemes a route depends on as one requirement (all of
  them at once); the key is one header read either raw (Bland) or as ``Bearer <key>``
  (Retell), so every route that takes ``ApiKey`` also accepts ``Bearer`` instead.
- Examples: FastAPI drops every ``null`` from the document, which would turn Bland's
  ``{"data": null, "errors": [...]}`` into a body the API never sends; the examples are
  put back as they were written.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.responses import DOCUMENTED_MODELS, NAMED_EXAMPLES

API_KEY_SCHEME = "ApiKey"
BEARER_SCHEME = "Bearer"


def _with_bearer_alternative(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})[BEARER_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "The same API key as `Authorization: Bearer <key>`.",
    }
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            security = operation.get("security")
            if security and any(API_KEY_SCHEME in requirement for requirement in security):
                operation["security"] = [{API_KEY_SCHEME: []}, {BEARER_SCHEME: []}]
    return schema


def _with_examples_as_written(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.get("components", {}).get("schemas", {})
    for model in DOCUMENTED_MODELS:
        extra = model.model_config.get("json_schema_extra")
        if isinstance(extra, dict) and "example" in extra and model.__name__ in components:
            components[model.__name__]["example"] = extra["example"]
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for response in operation.get("responses", {}).values():
                examples = response.get("content", {}).get("application/json", {}).get("examples", {})
                for name, example in examples.items():
                    if name in NAMED_EXAMPLES:
                        example["value"] = NAMED_EXAMPLES[name]
    return schema


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            app.openapi_schema = _with_examples_as_written(_with_bearer_alternative(schema))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
