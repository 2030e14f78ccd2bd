"""The enumerations shared by the database, the rules and the API. One place for each."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    DIBAO = "DIBAO"  # 低保对象
    TEKUN = "TEKUN"  # 特困人员
    MARGINAL = "MARGINAL"  # 低保边缘家庭
    EXPENDITURE = "EXPENDITURE"  # 支出型困难家庭
    LEGACY_LOW_INCOME = "LEGACY_LOW_INCOME"  # 原"低收入家庭", transitional
    NONE = "NONE"


class HouseholdStatus(StrEnum):
    """Where a household stands in the procedure and in assistance."""

    APPLYING = "APPLYING"  # application received, not yet confirmed
    ACTIVE = "ACTIVE"  # confirmed, assistance running
    SUSPENDED = "SUSPENDED"  # under verification (e.g. a NO_LONGER_ELIGIBLE warning)
    ENDED = "ENDED"  # assistance ended
    NOT_COVERED = "NOT_COVERED"  # known to the database (survey, monitoring), no category


# The statuses in which a household's assistance is running (suspended: under verification).
RUNNING = frozenset({HouseholdStatus.ACTIVE, HouseholdStatus.SUSPENDED})


class Channel(StrEnum):
    """How a household came in (几个一批)."""

    DIRECT = "DIRECT"
    APPLICATION = "APPLICATION"
    MONITORING = "MONITORING"
    SURVEY = "SURVEY"


class UrbanRural(StrEnum):
    URBAN = "URBAN"
    RURAL = "RURAL"


class Relation(StrEnum):
    """Relation of a member to the head of household (or, in an assessment, to the applicant)."""

    SELF = "SELF"
    SPOUSE = "SPOUSE"
    CHILD = "CHILD"
    PARENT = "PARENT"
    SIBLING = "SIBLING"
    GRANDPARENT = "GRANDPARENT"
    GRANDCHILD = "GRANDCHILD"
    OTHER = "OTHER"


class LaborCapacity(StrEnum):
    FULL = "FULL"
    WEAK = "WEAK"
    NONE = "NONE"


class DisabilityType(StrEnum):
    PHYSICAL = "PHYSICAL"
    VISUAL = "VISUAL"
    HEARING = "HEARING"
    SPEECH = "SPEECH"
    INTELLECTUAL = "INTELLECTUAL"
    MENTAL = "MENTAL"
    MULTIPLE = "MULTIPLE"


class Illness(StrEnum):
    NONE = "NONE"
    CHRONIC = "CHRONIC"
    SEVERE = "SEVERE"


class StudentStage(StrEnum):
    NONE = "NONE"
    PRESCHOOL = "PRESCHOOL"
    PRIMARY = "PRIMARY"
    JUNIOR_SECONDARY = "JUNIOR_SECONDARY"
    SENIOR_SECONDARY = "SENIOR_SECONDARY"
    VOCATIONAL = "VOCATIONAL"
    HIGHER = "HIGHER"


class EmploymentStatus(StrEnum):
    EMPLOYED = "EMPLOYED"
    SELF_EMPLOYED = "SELF_EMPLOYED"
    FARMING = "FARMING"
    UNEMPLOYED = "UNEMPLOYED"
    RETIRED = "RETIRED"
    STUDENT = "STUDENT"
    NOT_IN_LABOUR_FORCE = "NOT_IN_LABOUR_FORCE"


class AssistanceKind(StrEnum):
    DIBAO_ALLOWANCE = "DIBAO_ALLOWANCE"
    TEKUN_SUPPORT = "TEKUN_SUPPORT"
    TEMPORARY = "TEMPORARY"
    MEDICAL = "MEDICAL"
    EDUCATION = "EDUCATION"
    HOUSING = "HOUSING"
    EMPLOYMENT = "EMPLOYMENT"
    DISASTER_RELIEF = "DISASTER_RELIEF"
    DISABILITY_SUBSIDY = "DISABILITY_SUBSIDY"
    TRADE_UNION = "TRADE_UNION"
    CHARITY = "CHARITY"


class AssistanceSubject(StrEnum):
    """Whom an assistance record is for: the person it names, or that person's household."""

    PERSON = "PERSON"
    HOUSEHOLD = "HOUSEHOLD"


class EventKind(StrEnum):
    """The normalised vocabulary of monitoring events, whatever the source."""

    DECEASED = "DECEASED"
    HOSPITAL_SETTLEMENT = "HOSPITAL_SETTLEMENT"
    OUTPATIENT_SETTLEMENT = "OUTPATIENT_SETTLEMENT"
    ILLNESS_CERTIFIED = "ILLNESS_CERTIFIED"
    DISABILITY_CERTIFIED = "DISABILITY_CERTIFIED"
    SCHOOL_ENROLMENT = "SCHOOL_ENROLMENT"
    UNEMPLOYMENT_REGISTERED = "UNEMPLOYMENT_REGISTERED"
    EMPLOYMENT_STARTED = "EMPLOYMENT_STARTED"
    VEHICLE_REGISTERED = "VEHICLE_REGISTERED"
    PROPERTY_REGISTERED = "PROPERTY_REGISTERED"
    CAPITAL_SUBSCRIBED = "CAPITAL_SUBSCRIBED"
    FIRE_INCIDENT = "FIRE_INCIDENT"
    DISASTER_LOSS = "DISASTER_LOSS"
    REGISTRATION_CHANGED = "REGISTRATION_CHANGED"


class PropertyKind(StrEnum):
    """What a property registration is for (不动产登记的用途)."""

    HOUSE = "HOUSE"  # 住宅
    SHOP = "SHOP"  # 商铺
    OFFICE = "OFFICE"  # 办公
    FACTORY = "FACTORY"  # 厂房、仓储
    PARKING = "PARKING"  # 车位、车库
    OTHER = "OTHER"


class LossCause(StrEnum):
    NATURAL_DISASTER = "NATURAL_DISASTER"  # 自然灾害
    ACCIDENT = "ACCIDENT"  # 意外事故


class PushKind(StrEnum):
    """What an agency pushes: the assistance it delivered, or what it observed."""

    ASSISTANCE_RECORDS = "ASSISTANCE_RECORDS"
    EVENTS = "EVENTS"


class PushOutcome(StrEnum):
    """What became of one item of a pushed batch."""

    ACCEPTED = "ACCEPTED"  # stored
    DUPLICATE = "DUPLICATE"  # the same record id and revision, same content, already stored
    REJECTED = "REJECTED"  # invalid, or a different content under a stored revision


class PushTransport(StrEnum):
    GRAPHQL = "GRAPHQL"
    JSON = "JSON"  # POST /api/v1/… with a JSON array
    NDJSON = "NDJSON"  # POST /api/v1/… with newline-delimited JSON
    FEED = "FEED"  # pulled from an agency feed by the gateway


class RecordSource(StrEnum):
    PUSH = "PUSH"  # an agency pushed it to the API
    FEED = "FEED"  # the gateway pulled it from an agency feed
    NATIONAL = "NATIONAL"  # synced from the national system
    MANUAL = "MANUAL"  # entered by a caseworker
    DEMO = "DEMO"  # synthetic demo data


class WarningKind(StrEnum):
    POLICY_NOT_DELIVERED = "POLICY_NOT_DELIVERED"
    NOT_COVERED = "NOT_COVERED"
    SPECIAL_HARDSHIP = "SPECIAL_HARDSHIP"
    NO_LONGER_ELIGIBLE = "NO_LONGER_ELIGIBLE"


class WarningStatus(StrEnum):
    OPEN = "OPEN"
    DISPATCHED = "DISPATCHED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    RESOLVED = "RESOLVED"
    ESCALATED = "ESCALATED"
    AUTO_CLEARED = "AUTO_CLEARED"


OPEN_WARNING_STATUSES = frozenset(
    {
        WarningStatus.OPEN,
        WarningStatus.DISPATCHED,
        WarningStatus.ACKNOWLEDGED,
        WarningStatus.ESCALATED,
    }
)


class HardshipType(StrEnum):
    """What kind of hardship or policy a warning is about; with its kind, it picks the route.

    REVIEW and TRANSITION are no hardship: they name the routine topic of a NO_LONGER_ELIGIBLE
    finding (a yearly review due, a transition ending) so that it routes apart from a loss of
    eligibility found in the data.
    """

    MEDICAL = "MEDICAL"  # 医疗
    EDUCATION = "EDUCATION"  # 教育
    DISABILITY = "DISABILITY"  # 残疾
    EMPLOYMENT = "EMPLOYMENT"  # 就业
    DISASTER = "DISASTER"  # 自然灾害
    ACCIDENT = "ACCIDENT"  # 意外事故
    FIRE = "FIRE"  # 火灾
    REVIEW = "REVIEW"  # 年度复核到期
    TRANSITION = "TRANSITION"  # 过渡期结束


class Resolution(StrEnum):
    """How a resolved warning ended."""

    DELIVERED = "DELIVERED"  # the policy was delivered
    APPLIED = "APPLIED"  # an application for assistance was made
    TERMINATED = "TERMINATED"  # the assistance was ended after verification
    NO_ACTION = "NO_ACTION"  # verified: nothing to do (with the reason in the note)


class ComparisonMode(StrEnum):
    FULL = "FULL"  # `lig compare`: every household
    INCREMENTAL = "INCREMENTAL"  # the households touched by new data since the last pass


class NoticeKind(StrEnum):
    """What an agency is told about a warning (subscription and webhooks)."""

    ASSIGNED = "ASSIGNED"  # a warning was assigned to the agency (new, or dispatched to it)
    EVIDENCE_ADDED = "EVIDENCE_ADDED"  # new evidence joined an open warning
    STATUS_CHANGED = "STATUS_CHANGED"  # acknowledged, resolved, escalated, cleared


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"  # waiting for its (next) attempt
    DELIVERED = "DELIVERED"  # the receiver answered 2xx
    GAVE_UP = "GAVE_UP"  # every attempt of the schedule failed; replayable


class ApplicationStatus(StrEnum):
    """Where an application stands (申请 → 受理 → 审核 with 公示 → 确认)."""

    APPLIED = "APPLIED"  # 申请: started (by a NOT_COVERED warning, or at the town)
    ACCEPTED = "ACCEPTED"  # 受理: the town accepted it; its review is under way
    IN_NOTICE = "IN_NOTICE"  # the town's opinion is written and publicly noticed (公示)
    DECIDED = "DECIDED"  # 确认: the county decided, by the rules engine
    WITHDRAWN = "WITHDRAWN"  # withdrawn by the household, or not accepted


class Severity(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class RegionLevel(StrEnum):
    PROVINCE = "PROVINCE"
    CITY = "CITY"
    COUNTY = "COUNTY"
    TOWN = "TOWN"
    VILLAGE = "VILLAGE"


class StandardFigure(StrEnum):
    """The effective-dated figures the rules read (DOMAIN.md, 'Figures')."""

    DIBAO_MONTHLY = "DIBAO_MONTHLY"
    DISPOSABLE_INCOME = "DISPOSABLE_INCOME"  # per capita, for the calendar year of effective_from
    HOUSING_AREA_PER_CAPITA = "HOUSING_AREA_PER_CAPITA"
    CAR_VALUE_CAP = "CAR_VALUE_CAP"
    LEGACY_TRANSITION_END = "LEGACY_TRANSITION_END"
    TEKUN_URBAN_MONTHLY = "TEKUN_URBAN_MONTHLY"
    TEKUN_RURAL_MONTHLY = "TEKUN_RURAL_MONTHLY"


class StandardStatus(StrEnum):
    CONFIRMED = "CONFIRMED"  # published, with a source
    IMPLIED = "IMPLIED"  # inferred from a published document
    OPERATOR = "OPERATOR"  # set by an operator: no public source was found


class SituationSource(StrEnum):
    """Where a recorded economic situation comes from."""

    DECLARATION = "DECLARATION"  # declared by the household (申报)
    VERIFICATION = "VERIFICATION"  # the result of economic-status verification (核对)


class SyncEntity(StrEnum):
    """What a change from the national system is about."""

    HOUSEHOLD = "HOUSEHOLD"  # address, region, phone, urban/rural
    PERSON = "PERSON"  # a person and their current household
    CATEGORY = "CATEGORY"  # a household's category, status and validity


class ConflictStatus(StrEnum):
    OPEN = "OPEN"  # a national change met a local change made after the last sync
    KEPT_LOCAL = "KEPT_LOCAL"  # resolved: the local state stands
    TOOK_NATIONAL = "TOOK_NATIONAL"  # resolved: the national change was applied


class ExportStatus(StrEnum):
    UPLOADING = "UPLOADING"  # the batch is being sent
    SUBMITTED = "SUBMITTED"  # sent; the national system has not answered yet
    DONE = "DONE"  # the receipt came back (with its rejections)
