"""All tables. Importing this package registers every model on `Base.metadata`."""

from gateway.models.agency import Agency
from gateway.models.application import Application, CalendarDay, ProcedureLimit
from gateway.models.assistance import AssistanceRecord
from gateway.models.audit import AuditEvent, AuditSeal
from gateway.models.base import Base
from gateway.models.determination import Determination
from gateway.models.document import TrustedDocument
from gateway.models.economy import EconomicSituation
from gateway.models.event import MonitoringEvent
from gateway.models.household import Household, HouseholdVersion, Membership
from gateway.models.limits import RateBucket
from gateway.models.oauth import OAuthClient, RevokedToken, SigningKey
from gateway.models.person import Person
from gateway.models.push import PushReceipt, PushReceiptItem
from gateway.models.region import Region
from gateway.models.replica import ClientWritePosition
from gateway.models.staff import AuthorizationCode, ConsoleSession, StaffUser
from gateway.models.standard import RegionalStandard
from gateway.models.sync import (
    FeedFile,
    JobLease,
    NationalExport,
    NationalExportRejection,
    SyncCheckpoint,
    SyncConflict,
    SyncRejection,
)
from gateway.models.visit import VerificationAuthorisation, Visit
from gateway.models.warning import (
    ComparisonQueue,
    ComparisonRun,
    WarningAssignment,
    WarningNotice,
    WarningRecord,
    WarningRoute,
    WarningTransition,
)
from gateway.models.webhook import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "AuthorizationCode",
    "ConsoleSession",
    "StaffUser",
    "Application",
    "CalendarDay",
    "ClientWritePosition",
    "ComparisonQueue",
    "ComparisonRun",
    "ProcedureLimit",
    "VerificationAuthorisation",
    "Visit",
    "WarningNotice",
    "WarningRoute",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "SyncRejection",
    "SyncConflict",
    "SyncCheckpoint",
    "NationalExportRejection",
    "NationalExport",
    "JobLease",
    "FeedFile",
    "Agency",
    "AssistanceRecord",
    "AuditEvent",
    "AuditSeal",
    "Base",
    "Determination",
    "EconomicSituation",
    "Household",
    "HouseholdVersion",
    "Membership",
    "MonitoringEvent",
    "OAuthClient",
    "Person",
    "PushReceipt",
    "PushReceiptItem",
    "Region",
    "RateBucket",
    "RegionalStandard",
    "RevokedToken",
    "SigningKey",
    "TrustedDocument",
    "WarningAssignment",
    "WarningRecord",
    "WarningTransition",
]
