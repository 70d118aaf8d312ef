"""ORM models, one module per table family."""

from greenlight.models.audit import AuditEvent, AuditOutcome
from greenlight.models.base import Base
from greenlight.models.idempotency import IdempotencyRecord
from greenlight.models.operations import Operation, OperationCounter, OperationStatus
from greenlight.models.outbox import OutboxCursor, OutboxEvent
from greenlight.models.personas import Persona, PersonaVersion, VersionStatus
from greenlight.models.promotions import Promotion
from greenlight.models.resources import DraftEntry, EntryStatus, Resource, VersionResource
from greenlight.models.reviews import PromotionRequest, PromotionVote, RequestStatus, Vote
from greenlight.models.schedules import ScheduledPromotion, ScheduleStatus
from greenlight.models.users import ApiKey, User
from greenlight.models.webhooks import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from greenlight.models.workspaces import Workspace, WorkspaceMember

__all__ = [
    "ApiKey",
    "AuditEvent",
    "AuditOutcome",
    "Base",
    "DeliveryStatus",
    "DraftEntry",
    "EntryStatus",
    "IdempotencyRecord",
    "Operation",
    "OperationCounter",
    "OperationStatus",
    "OutboxCursor",
    "OutboxEvent",
    "Persona",
    "PersonaVersion",
    "Promotion",
    "PromotionRequest",
    "PromotionVote",
    "RequestStatus",
    "Resource",
    "ScheduleStatus",
    "ScheduledPromotion",
    "User",
    "VersionResource",
    "VersionStatus",
    "Vote",
    "WebhookDelivery",
    "WebhookEndpoint",
    "Workspace",
    "WorkspaceMember",
]
