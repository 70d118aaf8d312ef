"""The OpenAPI document is complete, and its models describe what the endpoints really return."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel

from api.responses import (
    NO_DRAFT_EXAMPLE,
    PERSONA_EXAMPLE,
    ErrorEnvelope,
    OperationEnvelope,
    OperationObject,
    PersonaEnvelope,
    PersonaObject,
    VersionListEnvelope,
    VersionObject,
)
from tests.support.http import create_persona, wait_operation

ERROR_REF = "#/components/schemas/ErrorEnvelope"


def _schema(api_url: str) -> dict[str, Any]:
    response = httpx.get(f"{api_url}/openapi.json", timeout=10)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _ref(response: dict[str, Any]) -> str:
    return str(response["content"]["application/json"]["schema"].get("$ref", ""))


def _refs(response: dict[str, Any]) -> list[str]:
    """The models a success may be: one, or each of an ``anyOf``."""
    schema = response["content"]["application/json"]["schema"]
    return [str(option.get("$ref", "")) for option in schema.get("anyOf", [schema])]


def test_every_endpoint_documents_its_answers_and_auth(api_url: str) -> None:
    schema = _schema(api_url)
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "authorization",
        "description": schemes["ApiKey"]["description"],
    }
    assert schemes["Bearer"]["type"] == "http" and schemes["Bearer"]["scheme"] == "bearer"
    assert "HTTPValidationError" not in schema["components"]["schemas"]  # our 422 is the envelope

    operations = [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()]
    assert {path for path, _, _ in operations} >= {
        "/v1/personas",
        "/v1/personas/{persona_id}",
        "/v1/personas/{persona_id}/versions",
        "/v1/personas/{persona_id}/draft",
        "/v1/personas/{persona_id}/versions/promote",
        "/v1/operations/{operation_id}",
        "/healthz",
        "/readyz",
        "/metrics",
    }
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        assert op.get("summary"), where
        successes = [code for code in op["responses"] if code.startswith("2")]
        assert successes, where
        for code in successes:
            assert op["responses"][code].get("content"), f"{where} {code}"
        if not path.startswith("/v1/"):
            continue
        assert op["security"] == [{"ApiKey": []}, {"Bearer": []}], where
        for code in ("401", "422", "429", "500"):
            assert _ref(op["responses"][code]) == ERROR_REF, f"{where} {code}"
            assert op["responses"][code]["content"]["application/json"]["examples"], f"{where} {code}"
        assert "Retry-After" in op["responses"]["429"]["headers"], where  # the auth back-off
        if "{" in path:
            assert _ref(op["responses"]["404"]) == ERROR_REF, where
        for code in successes:
            if "text/event-stream" in op["responses"][code]["content"]:
                continue  # the live stream is Server-Sent Events, not an envelope
            assert all(ref.endswith("Envelope") for ref in _refs(op["responses"][code])), f"{where} {code}"


def test_promote_documents_bland_examples(api_url: str) -> None:
    schema = _schema(api_url)
    promote = schema["paths"]["/v1/personas/{persona_id}/versions/promote"]["post"]
    responses = promote["responses"]
    assert _ref(responses["200"]) == "#/components/schemas/PersonaEnvelope"
    assert _refs(responses["202"]) == [
        "#/components/schemas/OperationEnvelope",
        "#/components/schemas/ScheduleEnvelope",  # with `scheduled_at`
    ]
    assert "Location" in responses["202"]["headers"]
    assert (
        responses["400"]["content"]["application/json"]["examples"]["no_draft_version"]["value"]
        == NO_DRAFT_EXAMPLE
    )
    persona = schema["components"]["schemas"]["PersonaEnvelope"]["example"]["data"]
    assert persona == PERSONA_EXAMPLE
    # Seed 000's persona and version objects, field for field (we add `status` and `version_description`).
    assert persona["name"] == "Blandy" and persona["current_production_version"]["version_number"] == 3
    assert set(PERSONA_EXAMPLE) == set(PersonaObject.model_fields)
    assert set(PERSONA_EXAMPLE["current_draft_version"]) == set(VersionObject.model_fields)
    docs = httpx.get(f"{api_url}/docs", timeout=10)
    assert docs.status_code == 200 and "swagger-ui" in docs.text


def _fields_match(body: dict[str, Any], model: type[BaseModel]) -> None:
    assert set(body) == set(model.model_fields), model.__name__


def test_the_models_describe_the_real_responses(client: httpx.Client, auth: dict[str, str]) -> None:
    created = client.post("/v1/personas", json={"name": "Documented"}, headers=auth)
    PersonaEnvelope.model_validate(created.json())
    persona = created.json()["data"]
    _fields_match(persona, PersonaObject)
    _fields_match(persona["current_draft_version"], VersionObject)

    edit = client.patch(
        f"/v1/personas/{persona['id']}/draft", json={"personality_prompt": "Hi"}, headers=auth
    )
    assert edit.status_code == 202
    OperationEnvelope.model_validate(edit.json())
    _fields_match(edit.json()["data"], OperationObject)
    wait_operation(client, auth, edit.json()["data"]["id"])
    operation = client.get(edit.headers["location"], headers=auth).json()
    OperationEnvelope.model_validate(operation)

    promoted = client.post(f"/v1/personas/{persona['id']}/versions/promote", headers=auth).json()
    PersonaEnvelope.model_validate(promoted)
    _fields_match(promoted["data"]["current_production_version"], VersionObject)
    VersionListEnvelope.model_validate(
        client.get(f"/v1/personas/{persona['id']}/versions", headers=auth).json()
    )
    PersonaEnvelope.model_validate(client.get(f"/v1/personas/{persona['id']}", headers=auth).json())

    for response in (
        client.get("/v1/personas/nope", headers=auth),
        client.get("/v1/personas/nope"),
        client.post("/v1/personas", json={}, headers=auth),
    ):
        ErrorEnvelope.model_validate(response.json())


def test_an_existing_persona_example_is_a_valid_persona(client: httpx.Client, auth: dict[str, str]) -> None:
    persona = create_persona(client, auth)
    PersonaObject.model_validate(PERSONA_EXAMPLE)
    assert set(persona) == set(PERSONA_EXAMPLE)
