"""Configuration, read once from `LIG_*` environment variables (and an optional `.env`)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from auth.scopes import CONSOLE_PROFILE, PROFILES

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./lig.db"


class RateLimit(BaseModel):
    """A client's rate limit: `per_second` requests a second on average (0: no limit), and up
    to `burst` at once after a quiet spell."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_second: float = Field(ge=0, le=100_000)
    burst: int = Field(ge=1, le=1_000_000)


class Settings(BaseSettings):
    # hide_input_in_errors: a refused value is named, never echoed (database URLs hold passwords).
    model_config = SettingsConfigDict(
        env_prefix="LIG_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    env: Literal["development", "production", "test"] = "production"
    database_url: str = DEFAULT_DATABASE_URL
    # Connection pool per gateway process (PostgreSQL only; SQLite uses one file).
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=5, ge=0, le=200)
    db_echo: bool = False
    # Streaming-replication standbys that serve reads (gateway/replicas.py), comma-separated
    # PostgreSQL URLs (postgresql+asyncpg://lig@standby-1/lig,…); empty: every read goes to the
    # primary. A standby more than `database_replica_max_lag_seconds` behind in its replay, or
    # not reachable within `database_replica_connect_timeout` seconds, is skipped.
    database_replica_urls: str = ""
    database_replica_max_lag_seconds: float = Field(default=5.0, gt=0, le=3600)
    database_replica_connect_timeout: float = Field(default=2.0, gt=0, le=60)

    # Pagination: the largest page any list answers, and the default page.
    max_page_size: int = Field(default=100, ge=1, le=1000)
    default_page_size: int = Field(default=20, ge=1, le=1000)
    # Eligibility: how many ID numbers one call may ask about (CONTRACT.md fixes 1,000).
    max_eligibility_batch: int = Field(default=1000, ge=1, le=1000)
    # PostgreSQL: eligibility documents compiled to one statement each (gateway/eligibility/
    # compiled.py), run on a pool of their own of this many connections per process.
    compiled_eligibility: bool = True
    eligibility_pool_size: int = Field(default=8, ge=1, le=200)

    # OAuth 2.0 authorization server (auth/). The issuer is the gateway's public base URL, e.g.
    # https://lig.mzj.example.gov.cn; unset, it is taken from each request's own base URL.
    issuer: str | None = None
    # The `aud` of every access token: the resource server the tokens are for.
    audience: str = "lig"
    token_lifetime_seconds: int = Field(default=3600, ge=60, le=3600)
    # A PEM private key (EC P-256) that signs access tokens. Unset, the gateway generates one,
    # keeps it in the database (so every process shares it) and says so at start.
    signing_key_file: str | None = None

    # Pushes (gateway/pushes, /api/v1): a JSON array (REST or GraphQL) holds at most
    # `push_max_items` items; more go as NDJSON, whose body may be far larger. Bodies are spooled
    # to a temporary file past `push_spool_memory_bytes`, so a large push never sits in memory.
    push_max_items: int = Field(default=10_000, ge=1, le=100_000)
    push_max_json_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    push_max_ndjson_bytes: int = Field(default=2 * 1024**3, ge=1024)
    push_max_ndjson_items: int = Field(default=2_000_000, ge=1)
    push_max_line_bytes: int = Field(default=64 * 1024, ge=256, le=16 * 1024 * 1024)
    push_chunk_size: int = Field(default=1000, ge=1, le=10_000)
    push_spool_memory_bytes: int = Field(default=1024 * 1024, ge=0)
    # How long a push waits for its agency's previous push to finish (PostgreSQL) before it is
    # answered 503 with Retry-After; on SQLite the busy timeout below applies.
    push_turn_wait_seconds: int = Field(default=30, ge=1, le=3600)
    # How long SQLite waits for its one write lock (a large push holds it while it stores).
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)
    # The largest /graphql request body (a push of `push_max_items` items fits).
    graphql_max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # Trusted documents (gateway/documents): how long each process keeps what it read of a
    # client's registered documents and trusted-documents-only flag. A removal, or a change of
    # the flag, takes effect in every process within this many seconds (0: at once).
    trusted_documents_cache_seconds: float = Field(default=10.0, ge=0, le=3600)

    # GraphQL operation limits (gateway/http/limits.py): a document over any of them is refused
    # with LIMIT_EXCEEDED before it is validated or run. Tokens: what the parser reads at most;
    # fields: every field selected, fragments expanded; cost: each field once per item of the
    # lists around it (`first`, list arguments; a page without `first` counts the default page).
    graphql_max_tokens: int = Field(default=5000, ge=100, le=1_000_000)
    graphql_max_depth: int = Field(default=12, ge=2, le=100)
    graphql_max_aliases: int = Field(default=30, ge=0, le=10_000)
    graphql_max_root_fields: int = Field(default=10, ge=1, le=1000)
    graphql_max_fields: int = Field(default=300, ge=10, le=100_000)
    graphql_max_directives: int = Field(default=20, ge=0, le=1000)
    graphql_max_cost: int = Field(default=25_000, ge=100, le=10_000_000)
    # Strings and lists in variables and in the document, and variables' nesting. A list may be
    # a push of `push_max_items` items, so the bound on lists is the larger of the two.
    graphql_max_string_length: int = Field(default=65_536, ge=256, le=16 * 1024 * 1024)
    graphql_max_list_length: int = Field(default=10_000, ge=1000, le=100_000)
    # Operations in one array-batched request (a JSON array body); 0: batching is off.
    graphql_max_batch: int = Field(default=0, ge=0, le=100)
    # How long one operation may run before it is stopped (and its transaction rolled back).
    graphql_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Introspection (`__schema`, `__type`): for clients with the `admin` scope, for every client,
    # or for none. The console and departments' clients know the schema from schema.graphql.
    graphql_introspection: Literal["admin", "everyone", "nobody"] = "admin"
    # Origins whose browser pages may call the API (CORS), e.g. '["https://yb.example.gov.cn"]';
    # empty: no cross-origin calls (the console is served by the gateway itself).
    cors_origins: list[str] = Field(default_factory=list)
    # The largest body of a request that is neither a push nor GraphQL (sign-in forms, OAuth).
    http_max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)

    # Rate limits (gateway/ratelimit): a token bucket per client, shared by every process
    # through the database, refilled at `rate_limit_per_second` tokens a second (0: no limit)
    # up to `rate_limit_burst`; a request over it is answered 429 with Retry-After. Other
    # limits by the client's department profile as JSON, e.g.
    # LIG_RATE_LIMITS='{"medical-security": {"per_second": 500, "burst": 1000}}'.
    rate_limit_per_second: float = Field(default=100.0, ge=0, le=100_000)
    rate_limit_burst: int = Field(default=200, ge=1, le=1_000_000)
    rate_limits: dict[str, RateLimit] = Field(default_factory=dict)

    @field_validator("rate_limits")
    @classmethod
    def _rate_limits_name_profiles(cls, limits: dict[str, RateLimit]) -> dict[str, RateLimit]:
        # A misspelt profile would otherwise leave its clients on the default without a word.
        known = {*PROFILES, CONSOLE_PROFILE}
        unknown = sorted(set(limits) - known)
        if unknown:
            raise ValueError(
                f"LIG_RATE_LIMITS: unknown profile(s) {', '.join(unknown)}; "
                f"known: {' '.join(sorted(known))}"
            )
        return limits

    # Every upstream (adapters/): one pooled client each, timeouts on every call, bounded retries
    # with jittered exponential backoff on retryable failures only, and a circuit breaker that
    # stops calling an upstream after `upstream_breaker_failures` failures in a row.
    upstream_connect_timeout: float = Field(default=5.0, gt=0, le=120)
    upstream_read_timeout: float = Field(default=30.0, gt=0, le=600)
    upstream_attempts: int = Field(default=5, ge=1, le=20)
    upstream_backoff_seconds: float = Field(default=0.5, ge=0, le=60)
    upstream_backoff_max_seconds: float = Field(default=30.0, ge=0, le=600)
    upstream_breaker_failures: int = Field(default=8, ge=1, le=1000)
    upstream_breaker_reset_seconds: float = Field(default=30.0, gt=0, le=3600)
    upstream_max_connections: int = Field(default=8, ge=1, le=100)

    # The national social-assistance system (adapters/national). Unset, `lig sync national` and
    # `lig export national` refuse to run and say which setting is missing.
    national_url: str | None = None
    national_app_key: str | None = None
    national_app_secret: SecretStr | None = None
    # HMAC-SM3 (GB/T 32905, through OpenSSL) unless the national side asks for HMAC-SHA256.
    national_signature: Literal["HMAC-SM3", "HMAC-SHA256"] = "HMAC-SM3"
    # The region this gateway answers for in the monthly upload (Qidong by default).
    national_region_code: str = Field(default="320681000000", pattern=r"^\d{12}$")
    national_page_size: int = Field(default=1000, ge=1, le=5000)
    # How long `lig export national` waits for the asynchronous receipt, and how often it asks.
    national_receipt_wait_seconds: float = Field(default=3600.0, gt=0)
    national_receipt_poll_seconds: float = Field(default=5.0, gt=0, le=600)

    # Agency feeds (adapters/feeds): the base URL of each agency's paged JSON feed and its API
    # key, by agency code, e.g. LIG_FEED_URLS='{"medical-security": "https://ybj.example"}';
    # the education drop folder (files are archived to `<folder>/archive` once processed); how
    # often `lig feeds run` pulls each feed (seconds; default `feed_default_interval`).
    feed_urls: dict[str, str] = Field(default_factory=dict)
    feed_api_keys: dict[str, SecretStr] = Field(default_factory=dict)
    feed_drop_folder: str | None = None
    feed_intervals: dict[str, int] = Field(default_factory=dict)
    feed_default_interval: int = Field(default=900, ge=1, le=7 * 86400)
    feed_page_size: int = Field(default=500, ge=1, le=5000)

    # Dynamic monitoring (gateway/monitoring). Days an agency has to record the assistance an
    # event calls for before a POLICY_NOT_DELIVERED warning; how far back events count; how
    # long before a yearly review or the end of a transition civil affairs is warned; "heavy"
    # hardship costs, per member, in years of the dibao standard.
    compare_grace_days: int = Field(default=30, ge=0, le=365)
    compare_lookback_days: int = Field(default=365, ge=1, le=3660)
    compare_notice_days: int = Field(default=30, ge=0, le=365)
    compare_heavy_cost_factor: Decimal = Field(default=Decimal(1), gt=0, le=100)
    compare_batch_size: int = Field(default=500, ge=1, le=10_000)
    compare_lease_seconds: float = Field(default=300.0, gt=0, le=86_400)
    # How often `lig serve` compares the households queued by new data, and escalates overdue
    # warnings (seconds; 0 turns the background work off, e.g. when `lig monitor run` does it).
    compare_interval_seconds: float = Field(default=5.0, ge=0, le=86_400)

    # The audit trail: how often unsealed events are hash-chained (seconds).
    audit_seal_interval: float = Field(default=2.0, gt=0, le=3600)

    # Delivery of warning notices (gateway/webhooks, gateway/subscriptions).
    # The key that encrypts webhook secrets at rest (a Fernet key: `lig webhooks new-key`);
    # keys used before it, still able to decrypt, as a JSON list (`lig webhooks rekey` moves
    # every secret to the current key). Unset, webhooks cannot be registered or sent.
    webhook_secret_key: SecretStr | None = None
    webhook_previous_secret_keys: list[SecretStr] = Field(default_factory=list)
    # The sender: how often it looks for due deliveries (seconds; 0: not in `lig serve`, e.g.
    # when `lig webhooks run` does it), how many it claims at a time, how many POSTs it has in
    # flight, and the timeouts of each POST.
    webhook_poll_seconds: float = Field(default=2.0, ge=0, le=3600)
    webhook_batch_size: int = Field(default=100, ge=1, le=5000)
    webhook_concurrency: int = Field(default=16, ge=1, le=256)
    webhook_connect_timeout: float = Field(default=5.0, gt=0, le=60)
    webhook_timeout: float = Field(default=10.0, gt=0, le=120)
    # The retry schedule: the first retry after `webhook_backoff_seconds`, doubling up to
    # `webhook_backoff_max_seconds` between attempts (each ±20% jitter); a delivery still
    # failing `webhook_retry_hours` after it was made is GAVE_UP (replayable).
    webhook_backoff_seconds: float = Field(default=15.0, gt=0, le=3600)
    webhook_backoff_max_seconds: float = Field(default=2 * 3600.0, gt=0, le=86_400)
    webhook_retry_hours: float = Field(default=72.0, ge=24, le=24 * 30)
    # At most this many deliveries made by one replay call (ask again from where it ended).
    webhook_replay_max: int = Field(default=10_000, ge=1, le=1_000_000)
    # The subscription: how often each process reads new notices for its subscribers
    # (seconds), and how long a gap in notice ids is waited for (a transaction still open on
    # PostgreSQL) before it is taken for a rollback.
    subscription_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    subscription_gap_seconds: float = Field(default=300.0, gt=0, le=86_400)

    # The console (gateway/console) and its sign-in (auth/authorize.py). Consecutive failed
    # sign-ins that lock an account, and for how long (seconds); how long a console session
    # lasts without a request, and at most (it also ends with its access token, at most an
    # hour: sign in again); whether its cookie is `Secure` ("auto": when the request came over
    # https, as uvicorn's --proxy-headers tells from a TLS proxy).
    console_max_failed_sign_ins: int = Field(default=5, ge=1, le=100)
    console_lockout_seconds: int = Field(default=900, ge=1, le=86_400)
    console_idle_seconds: int = Field(default=1800, ge=60, le=86_400)
    console_secure_cookies: Literal["auto", "always", "never"] = "auto"

    @model_validator(mode="after")
    def _replicas_are_postgresql_standbys(self) -> Settings:
        parse_replica_urls(self.database_replica_urls, self.database_url)
        return self

    @property
    def replica_urls(self) -> tuple[str, ...]:
        return parse_replica_urls(self.database_replica_urls, self.database_url)


def parse_replica_urls(text: str, primary_url: str) -> tuple[str, ...]:
    """LIG_DATABASE_REPLICA_URLS as a tuple of URLs; ValueError naming what is wrong (never a
    password: a URL that does not parse is named by its position only)."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        return ()
    name = "LIG_DATABASE_REPLICA_URLS"
    try:
        primary = make_url(primary_url)
    except (ArgumentError, ValueError):
        raise ValueError("LIG_DATABASE_URL is not a database URL") from None
    if primary.get_backend_name() != "postgresql":
        raise ValueError(
            f"{name}: read replicas are streaming-replication standbys of a PostgreSQL primary; "
            f"LIG_DATABASE_URL is {primary.get_backend_name()} (SQLite is one file: leave "
            f"{name} empty)"
        )
    for number, item in enumerate(items, start=1):
        try:
            url = make_url(item)
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number
            url = None
        form = "postgresql+asyncpg://user@host:port/database"
        if url is None:
            raise ValueError(f"{name}: URL {number} of {len(items)} is not a URL like {form}")
        shown = url.render_as_string(hide_password=True)
        if url.drivername != "postgresql+asyncpg" or not url.host or not url.database:
            raise ValueError(f"{name}: {shown} is not a PostgreSQL standby's URL like {form}")
        if url == primary:
            raise ValueError(f"{name}: {shown} is LIG_DATABASE_URL itself, not a standby")
    return tuple(items)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
