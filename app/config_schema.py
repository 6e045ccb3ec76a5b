"""The typed shape of ``baton.yaml`` (pydantic v2), with the domain contract's defaults.

Everything here is pure validation: reading the file, ``${ENV}`` references, line numbers and
secret policy live in :mod:`app.config`. Secrets are :class:`pydantic.SecretStr`, so they never show
in ``repr``, logs or ``model_dump`` (which prints ``**********``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)

from connectors import hubspot_settings, salesforce_settings
from connectors.mapping import ObjectMapping
from connectors.records import Crm, RecordKind

DEFAULT_DATABASE_URL = "sqlite:///./.baton/baton.db"  # the same default as app.store

# --------------------------------------------------------------------------------------------- durations

_DURATION_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])")


def parse_duration(value: Any) -> Any:
    """``"7d"``, ``"1d12h"``, ``"90m"``, ``"30s"``, ``"2w"`` or a number of seconds -> timedelta."""
    if isinstance(value, timedelta) or value is None:
        return value
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like 7d, 12h, 30m, 45s")
    if isinstance(value, (int, float)):
        return timedelta(seconds=value)
    text = str(value).strip().lower().replace(" ", "")
    if text.isdigit():
        return timedelta(seconds=int(text))
    if not text or _DURATION_PART.sub("", text):
        raise ValueError("a duration is a number of seconds or text like 7d, 12h, 30m, 45s (units w d h m s)")
    return timedelta(seconds=sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(text)))


def format_duration(value: timedelta) -> str:
    """The shortest text :func:`parse_duration` reads back as ``value`` (e.g. ``"7d"``, ``"1h30m"``)."""
    seconds, parts = int(value.total_seconds()), []
    if seconds == 0:
        return "0s"
    for unit, size in _DURATION_UNITS.items():
        if unit != "w" and seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]


class Section(BaseModel):
    """Base of every section: unknown keys are errors (typos must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# ------------------------------------------------------------------------------------ objects and mappings


class ObjectConfig(Section):
    """One CRM object Baton syncs: what kind of record it is and how its fields map.

    ``fields`` maps canonical field -> CRM field. In the file it is merged over the defaults: name
    only what differs; ``null`` unmaps a field. Stage VALUES are not configured here: the rules file
    declares them under each stage's ``crm:`` (see :mod:`rules.mapping`).
    """

    kind: RecordKind
    enabled: bool = True
    fields: dict[str, str] = Field(default_factory=dict)

    def crm_field(self, canonical: str) -> str | None:
        return self.fields.get(canonical)


# The objects are listed leads first, then opportunities, then accounts: the order syncs run in.
_KIND_ORDER = (RecordKind.LEAD, RecordKind.OPPORTUNITY, RecordKind.ACCOUNT)


def _default_entry(mapping: ObjectMapping, *, enabled: bool = True) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": mapping.kind.value, "fields": dict(mapping.fields)}
    if not enabled:
        entry["enabled"] = False
    return entry


def _defaults_from(mappings: dict[str, ObjectMapping]) -> dict[str, dict[str, Any]]:
    ordered = sorted(mappings.items(), key=lambda item: _KIND_ORDER.index(item[1].kind))
    return {name: _default_entry(mapping) for name, mapping in ordered}


# The connectors' own default mappings are the one source of the domain contract's field names.
DEFAULT_OBJECTS: dict[Crm, dict[str, dict[str, Any]]] = {
    Crm.SALESFORCE: {
        **_defaults_from(salesforce_settings.default_objects()),
        # Contacts are leads too, but the org's Contact has no stage field: off unless configured.
        salesforce_settings.CONTACT_MAPPING.object: _default_entry(
            salesforce_settings.CONTACT_MAPPING, enabled=False
        ),
    },
    Crm.HUBSPOT: _defaults_from(hubspot_settings.default_objects()),
}


def merge_objects(crm: Crm, configured: Any) -> Any:
    """The default objects of ``crm`` with the file's ``objects`` section merged over them.

    ``fields`` merge key by key; a ``null`` value removes that default. Objects not in the
    defaults are taken as written (they must give ``kind`` and ``fields``).
    """
    if configured is None:
        configured = {}
    if not isinstance(configured, dict):
        return configured  # let validation report the wrong type
    merged: dict[str, Any] = {}
    for name in {**DEFAULT_OBJECTS[crm], **configured}:
        default, given = DEFAULT_OBJECTS[crm].get(name, {}), configured.get(name, {})
        if not isinstance(given, dict):
            merged[name] = given
            continue
        entry = {**default, **{k: v for k, v in given.items() if k != "fields"}}
        if "fields" in given and not isinstance(given["fields"], dict):
            entry["fields"] = given["fields"]  # let validation report the wrong type
        elif "fields" in given or "fields" in default:
            combined = {**default.get("fields", {}), **given.get("fields", {})}
            entry["fields"] = {k: v for k, v in combined.items() if v is not None}
        merged[name] = entry
    return merged


# ------------------------------------------------------------------------------------ schedules and limits


class Schedule(Section):
    """When the scheduler enqueues incremental syncs of this CRM."""

    incremental_interval: Duration = timedelta(minutes=5)  # a number is seconds
    lookback: Duration = timedelta(minutes=5)  # re-read window: the CRMs' search indexes lag behind writes
    enabled: bool = True


class RateLimit(Section):
    """A token bucket: ``requests`` per ``period``, at most ``burst`` at once (default: ``requests``)."""

    requests: PositiveInt
    period: Duration = timedelta(seconds=1)
    burst: PositiveInt | None = None

    @property
    def effective_burst(self) -> int:
        return self.burst or self.requests


class SalesforceLimits(Section):
    rate: RateLimit = RateLimit(requests=20, period=timedelta(seconds=1), burst=20)
    daily_api_requests: PositiveInt = 15_000  # the org's DailyApiRequests Max (Developer Edition: 15,000)


class HubSpotLimits(Section):
    # Pace below HubSpot's 10-second window rather than spend it in one burst.
    rate: RateLimit = RateLimit(requests=100, period=timedelta(seconds=10), burst=10)
    ten_second_requests: PositiveInt = 100  # the account's rolling 10 s limit (100 Free/Starter, 150 Pro+)
    daily_requests: PositiveInt = 250_000  # 250,000 (Free/Starter/Pro) or 500,000 (Enterprise)
    search: RateLimit = RateLimit(requests=4, period=timedelta(seconds=1), burst=1)  # CRM search: 4-5 req/s


# ---------------------------------------------------------------------------------------- CRM connections

_SALESFORCE_ORG_ID = re.compile(r"^00D[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


class CrmConnection(Section):
    enabled: bool = True
    timeout_seconds: PositiveFloat = 30.0
    ca_cert: Path | None = None  # a PEM bundle to trust (e.g. the sandboxes' self-signed CA)
    objects: dict[str, ObjectConfig] = Field(default_factory=dict)
    schedule: Schedule = Schedule()

    def enabled_objects(self) -> dict[str, ObjectConfig]:
        return {name: obj for name, obj in self.objects.items() if obj.enabled}


class SalesforceConfig(CrmConnection):
    """A Salesforce org, through simple-salesforce."""

    instance_url: str
    login_url: str | None = None  # where password/OAuth logins go; default: instance_url
    auth: Literal["session", "password", "oauth"] = "password"
    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    session_id: SecretStr | None = None
    consumer_key: str | None = None
    consumer_secret: SecretStr | None = None
    flow_secret: SecretStr | None = None  # HMAC key of Flow HTTP callouts (webhooks)
    api_version: str = "59.0"
    organization_id: str | None = None  # outbound messages from any other org are refused
    limits: SalesforceLimits = SalesforceLimits()

    @field_validator("instance_url", "login_url")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)

    @model_validator(mode="before")
    @classmethod
    def _merge_default_objects(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {**data, "objects": merge_objects(Crm.SALESFORCE, data.get("objects"))}
        return data

    @field_validator("api_version", mode="before")
    @classmethod
    def _api_version(cls, value: Any) -> Any:
        text = str(value).lstrip("v") if isinstance(value, (int, float, str)) else value
        if isinstance(text, str) and not re.fullmatch(r"\d{2}\.0", text):
            raise ValueError("must look like 59.0")
        return text

    @field_validator("organization_id")
    @classmethod
    def _org_id(cls, value: str | None) -> str | None:
        if value is not None and not _SALESFORCE_ORG_ID.match(value):
            raise ValueError("must be a 15 or 18 character Salesforce id starting with 00D")
        return value

    @model_validator(mode="after")
    def _auth_needs(self) -> SalesforceConfig:
        if self.auth == "password" and not self.username:
            raise ValueError("auth: password needs a username")
        if self.auth == "oauth" and not self.consumer_key:
            raise ValueError("auth: oauth needs a consumer_key (the connected app's client id)")
        return self


class HubSpotConfig(CrmConnection):
    """A HubSpot account (portal), through hubspot-api-client."""

    host: str = "https://api.hubapi.com"
    access_token: SecretStr | None = None  # a private app's or OAuth access token
    client_secret: SecretStr | None = None  # the app's client secret: verifies webhook signatures
    portal_id: PositiveInt | None = None
    app_id: PositiveInt | None = None
    limits: HubSpotLimits = HubSpotLimits()

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return _http_url(value)

    @model_validator(mode="before")
    @classmethod
    def _merge_default_objects(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {**data, "objects": merge_objects(Crm.HUBSPOT, data.get("objects"))}
        return data


# ------------------------------------------------------------------------------------------- the rest


class RulesConfig(Section):
    file: Path | None = None  # the rules file Baton runs; default: the bundled The Model playbook


class BatchSizes(Section):
    salesforce: Annotated[int, Field(ge=1, le=200)] = 200  # sObject Collections: at most 200 per call
    hubspot: Annotated[int, Field(ge=1, le=100)] = 100  # batch update: at most 100 per call


class WriteBackConfig(Section):
    enabled: bool = True  # false: decide and log only, write nothing to the CRMs
    verify_before_write: bool = True  # re-read the records just before writing, to not clobber edits
    batch_size: BatchSizes = BatchSizes()


class MissingSecret(BaseModel):
    """A secret the configuration needs that no environment variable provides."""

    env: str  # the variable to set
    path: str  # the configuration key it fills
    required: bool  # False: only some features need it (webhooks, the admin API)
    why: str


class BatonConfig(Section):
    """The whole configuration. Build it with :func:`app.config.load_config`."""

    database_url: SecretStr = SecretStr(DEFAULT_DATABASE_URL)
    redis_url: SecretStr | None = None
    admin_token: SecretStr | None = None
    hold_period: Duration = timedelta(days=7)  # how long a person's manual change is left alone
    rules: RulesConfig = RulesConfig()
    salesforce: SalesforceConfig | None = None
    hubspot: HubSpotConfig | None = None
    write_back: WriteBackConfig = WriteBackConfig()

    # Where the file came from and which variable each secret is read from (set by load_config).
    _source: Path | None = PrivateAttr(default=None)
    _secret_env: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def source(self) -> Path | None:
        return self._source

    def crm(self, crm: Crm | str) -> SalesforceConfig | HubSpotConfig | None:
        """The connection of ``crm`` when it is configured and enabled."""
        connection = self.salesforce if Crm(crm) is Crm.SALESFORCE else self.hubspot
        return connection if connection is not None and connection.enabled else None

    def enabled_crms(self) -> list[Crm]:
        return [crm for crm in Crm if self.crm(crm) is not None]

    def enabled_objects(self, crm: Crm | str) -> dict[str, ObjectConfig]:
        """The objects to sync for ``crm`` (empty when the CRM is off)."""
        connection = self.crm(crm)
        return connection.enabled_objects() if connection else {}

    def secret(self, value: SecretStr | None) -> str | None:
        """The plain text of a secret, for the one place that needs it (a connector, a client)."""
        return value.get_secret_value() if value is not None else None

    def missing_secrets(self) -> list[MissingSecret]:
        """The secrets this configuration needs but has no value for, named by variable."""
        from app.config import missing_secrets  # the policy lives with the env variable names

        return missing_secrets(self)
