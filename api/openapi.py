"""The OpenAPI document, with two corrections to what FastAPI generates:

- Auth: FastAPI lists the security schemes a route depends on as one requirement (all of
  them at once); the key is one header read either raw (Bland) or as ``Bearer <key>``
  (Retell), so every route that takes ``ApiKey`` also accepts ``Bearer`` instead.
- Examples: FastAPI drops every ``null`` from the document, which would turn Bland's
  ``{"data": null, "errors": [...]}`` into a body the API never sends; the examples are
  put back as they were written.
- The request guard (api/guard.py) answers before any route: 400 for a NUL in the URL on every
  operation, 413 for an oversized body on every operation that takes one, in the route's error
  shape; documented here, in one place, as the guard applies them.
- Links (api/links.py) from the answers that create resources to the operations using their ids.
- Optional parameters are left out, never sent as null: their schema is the value's alone.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.errors import ErrorStyle, style_for
from api.inputs import document_text_rule
from api.links import with_links
from api.responses import DOCUMENTED_MODELS, NAMED_EXAMPLES, guard_responses

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


def _operations(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(path, op) for path, item in schema.get("paths", {}).items() for op in item.values()]


def _with_guard_responses(schema: dict[str, Any]) -> dict[str, Any]:
    for path, operation in _operations(schema):
        style = style_for(path)
        if style is ErrorStyle.CONSOLE:
            continue
        guarded = guard_responses(style, takes_body="requestBody" in operation)
        responses = operation.setdefault("responses", {})
        for status, doc in guarded.items():
            if status in responses:  # the route documents it already: add the guard's example
                examples = responses[status].get("content", {}).get("application/json", {}).get("examples")
                extra = doc["content"]["application/json"].get("examples", {})
                if examples is not None:
                    examples.update(extra)
            else:
                responses[status] = doc
    return schema


def _parameters_as_validated(schema: dict[str, Any]) -> dict[str, Any]:
    """No parameter is null, and no path or query string holds a NUL (the guard refuses it)."""
    for _, operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] in ("path", "query"):
                document_text_rule(parameter.get("schema", {}))
            options = parameter.get("schema", {}).get("anyOf")
            if options and {"type": "null"} in options:
                kept = [option for option in options if option != {"type": "null"}]
                rest = {k: v for k, v in parameter["schema"].items() if k != "anyOf"}
                parameter["schema"] = {**(kept[0] if len(kept) == 1 else {"anyOf": kept}), **rest}
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
            schema = _with_guard_responses(_parameters_as_validated(_with_bearer_alternative(schema)))
            app.openapi_schema = with_links(_with_examples_as_written(schema))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
