"""Rules every request body and every instant obey, whatever the endpoint.

Pydantic checks each field's type and length; these rules cover what it lets through and the
database or the JSON encoder would refuse later (a 500 instead of a 4xx):
text with NUL or lone surrogates, non-finite numbers, unbounded nesting, instants out of range.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, model_validator

# Containers inside containers, counted from the body itself; generous for pathway conditions.
MAX_DEPTH = 64


def _check_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise ValueError(f"{where}: text must not contain NUL (U+0000)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{where}: text must be valid Unicode (no lone surrogates)") from exc


def check_json(value: Any, where: str = "body", depth: int = 0) -> None:
    """Refuse what no column can store or no response can encode, naming the top-level field.

    Deeper keys are not named: they are the caller's data, and errors do not echo data.
    """
    if isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: numbers must be finite")
    elif isinstance(value, dict | list):
        if depth >= MAX_DEPTH:
            raise ValueError(f"{where}: nested deeper than {MAX_DEPTH} levels")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for name, item in items:
            inner = str(name)[:40] if depth == 0 and isinstance(value, dict) else where
            if isinstance(name, str):
                _check_text(name, inner)
            check_json(item, inner, depth + 1)


# Documents _check_text's NUL rule on every string of a request body's schema.
NO_NUL = "^[^\\x00]*$"


def document_text_rule(node: Any) -> None:
    """Add NO_NUL to every string schema inside ``node`` that has no pattern or format of its own."""
    if isinstance(node, list):
        for item in node:
            document_text_rule(item)
    elif isinstance(node, dict):
        if node.get("type") == "string" and "pattern" not in node and "format" not in node:
            node["pattern"] = NO_NUL
        for value in node.values():
            document_text_rule(value)


def _document_body(schema: dict[str, Any], model: type[BaseModel]) -> None:
    not_null: frozenset[str] = getattr(model, "NOT_NULL", frozenset())
    for name, field in schema.get("properties", {}).items():
        options = field.get("anyOf")
        if name in not_null and options and {"type": "null"} in options:
            kept = [option for option in options if option != {"type": "null"}]
            field.pop("anyOf")
            field.update(kept[0] if len(kept) == 1 else {"anyOf": kept})
            field.pop("default", None)  # left out, never null
    document_text_rule(schema)


class RequestBody(BaseModel):
    """Base of every request body: checks the raw input before the fields are validated.

    Its schema says so too: no NUL in any string; fields in ``NOT_NULL`` may be left out, not null.
    """

    model_config = ConfigDict(json_schema_extra=_document_body)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        check_json(data)
        return data


def to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("the instant is out of range once converted to UTC") from exc


_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _iso_8601(value: Any) -> Any:
    """Pydantic would read numbers (and numeric strings) as Unix timestamps; the API documents ISO 8601."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("expected an ISO 8601 date-time, e.g. 2026-01-01T12:00:00Z")
    return value


# An ISO 8601 date-time, not a number.
IsoDatetime = Annotated[datetime, BeforeValidator(_iso_8601)]
# An instant; naive ones are UTC. Converted to UTC here, so extreme offsets are a 422, not a 500.
UtcDatetime = Annotated[datetime, BeforeValidator(_iso_8601), AfterValidator(to_utc)]
