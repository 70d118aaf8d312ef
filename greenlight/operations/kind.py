"""What an operation kind is: everything about one kind of change, declared in one place.

Each kind is one module of ``greenlight/kinds/`` that builds an ``OperationKind``; the engine and
the API look kinds up in the ``Registry`` they are given, never by importing those modules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from greenlight.bulk import Writes
from greenlight.errors import Unprocessable
from greenlight.events import EventType
from greenlight.models import Operation, Persona, PersonaVersion
from greenlight.operations.context import ApplyContext
from greenlight.operations.submit import PersonaCheck, Submission
from greenlight.queues import Queue

P = TypeVar("P", bound=BaseModel)
# A result is stored as the operation's JSON result; kinds declare it as a TypedDict.
R = TypeVar("R", bound=Mapping[str, Any])

# How the console words an operation that succeeded: title, message, production version (if any).
Outcome = tuple[str, str, int | None]


def _untitled(payload: BaseModel) -> str:
    return ""


@dataclass(frozen=True)
class OperationKind(Generic[P, R]):
    name: str
    # Validated once when the request is accepted; stored as `dump(payload)`, parsed when applied.
    payload: type[P]
    result: type[R]
    # Applies one operation inside the engine's transaction (the persona is locked).
    apply: Callable[[ApplyContext, P], R]
    queue: Queue = Queue.OPERATIONS
    # The event types its application writes (the outbox writes them; declared here).
    emits: tuple[EventType, ...] = ()
    # A run of one persona's consecutive operations of this kind in one go, when the kind has one.
    # It must leave exactly what applying them one by one would, and refuse (a DomainError, nothing
    # written) if any of them would be refused: the engine then applies them one by one. It adds
    # its rows to the `Writes` it is given, which the engine sends with its own for the run, and
    # always changes production (the engine refreshes its cache).
    apply_run: Callable[[Session, Persona, Sequence[tuple[Operation, P]], Writes], list[R]] | None = None
    # What to check of a new request against its (owned) persona when it is accepted, if anything
    # (a replay answers with its operation, checked back then).
    check: Callable[[P], PersonaCheck | None] | None = None
    # What identifies a request for idempotency-key reuse; None: its stored payload.
    identity: Callable[[P], dict[str, Any]] | None = None
    # Whether a schedule may run it later (its payload is then carried by the schedule).
    schedulable: bool = False
    # For a kind that changes production: the version it would put there (None: nothing it could
    # promote; applying refuses it). Reviews gate every such kind (greenlight/reviews/gate.py).
    promotes: Callable[[ApplyContext, P], PersonaVersion | None] | None = None
    # The console's words for it (plain text): what it does, and what came of it.
    title: Callable[[P], str] = _untitled
    succeeded: Callable[[Session, Operation, P], Outcome] | None = None

    def dump(self, payload: P) -> dict[str, Any]:
        """The stored form: only the fields the request set (a field set to None stays)."""
        return payload.model_dump(mode="json", exclude_unset=True)

    def parse(self, stored: Mapping[str, Any]) -> P:
        """The stored payload, typed; one this kind cannot read is refused, never a crash."""
        try:
            return self.payload.model_validate(stored)
        except ValidationError as exc:
            fields = sorted({".".join(str(part) for part in error["loc"]) for error in exc.errors()})
            raise Unprocessable(
                f"The operation's payload does not fit {self.name}",
                {"kind": self.name, "fields": fields},
                code="INVALID_PAYLOAD",
            ) from None

    def submission(
        self,
        payload: P,
        persona_id: str | None = None,
        idempotency_key: str | None = None,
        identity: dict[str, Any] | None = None,
    ) -> Submission:
        """A request for this kind, as the engine will be asked to apply it."""
        if identity is None and self.identity is not None:
            identity = self.identity(payload)
        return Submission(
            kind=self.name,
            payload=self.dump(payload),
            persona_id=persona_id,
            idempotency_key=idempotency_key,
            identity=identity,
            check=self.check(payload) if self.check is not None else None,
        )

    def run(self, ctx: ApplyContext) -> dict[str, Any]:
        """Apply the context's operation: its payload parsed from what was stored."""
        return dict(self.apply(ctx, self.parse(ctx.operation.payload)))

    def run_many(
        self, session: Session, persona: Persona, operations: Sequence[Operation], writes: Writes
    ) -> list[dict[str, Any]]:
        assert self.apply_run is not None
        parsed = [(op, self.parse(op.payload)) for op in operations]
        return [dict(result) for result in self.apply_run(session, persona, parsed, writes)]

    def describe(self, operation: Operation) -> str:
        """The console's title for the operation (its kind's name when it has none)."""
        try:
            return self.title(self.parse(operation.payload or {})) or self.name
        except Unprocessable:
            return self.name

    def outcome(self, session: Session, operation: Operation) -> Outcome:
        """The console's words for the operation once it succeeded."""
        if self.succeeded is not None:
            try:
                return self.succeeded(session, operation, self.parse(operation.payload or {}))
            except Unprocessable:
                pass
        return "Done", "Applied.", None
