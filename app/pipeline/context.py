"""Everything one process needs to run pipeline steps, built lazily from the configuration.

A worker process builds one :class:`PipelineContext` after it forks (durable-rules hosts and SDK
connection pools do not survive ``fork()``), and reuses it for every job it runs.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import redis

from app.config_schema import BatonConfig, CrmConnection, HubSpotConfig, SalesforceConfig
from app.queueing.ratelimit import RateLimiter, profile_from_config
from app.store import Store
from connectors.base import Connector
from connectors.mapping import ObjectMapping
from connectors.records import RecordKind
from rules.engine import Engine
from rules.ir import Ruleset
from rules.load import load_ruleset, load_ruleset_text, the_model

from app.pipeline.planner import Planner
from app.pipeline.translate import stage_fields_to_read

#: CRM fields the CRMs derive themselves: Baton never writes them even when they are mapped.
READ_ONLY_FIELDS: dict[str, frozenset[str]] = {
    "salesforce": frozenset({"IsConverted", "IsClosed", "IsWon", "ForecastCategoryName", "LastStageChangeDate",
                             "CreatedDate", "LastModifiedDate", "SystemModstamp", "Id"}),
    "hubspot": frozenset({"hs_deal_stage_probability", "hs_v2_date_entered_current_stage", "createdate",
                          "lastmodifieddate", "hs_lastmodifieddate", "hs_object_id", "hs_is_closed",
                          "hs_is_closed_won"}),
}
SESSION_TTL_S = 3600            # shorter than Salesforce's shortest session timeout (2 hours by default)
ENGINE_ENV = "BATON_ENGINE"     # "durable" (the engine of record, default) or "python"


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


@dataclass
class PipelineContext:
    config: BatonConfig
    redis: redis.Redis
    engine_name: str = field(default_factory=lambda: os.environ.get(ENGINE_ENV, "durable"))
    migrated: bool = False              # the schema was checked already (by the worker parent)
    rules: Ruleset | None = None        # run these rules instead of the active/configured ones (dry runs)
    _connectors: dict[str, Connector] = field(default_factory=dict)

    # -- rules ------------------------------------------------------------------------------------
    @cached_property
    def ruleset(self) -> Ruleset:
        """The rules this context runs: the store's active version when one was activated (through
        the admin API), else the configured ``rules.file``, else the bundled The Model playbook."""
        if self.rules is not None:
            return self.rules
        active = self.store.active_rules_version()
        if active is not None:
            return load_ruleset_text(active.content, name=active.name or f"rules version {active.version}")
        path = self.config.rules.file
        return load_ruleset(Path(path)) if path else the_model()

    def rules_source(self) -> str | None:
        """The active rules version in the store (None: the configured file or The Model)."""
        active = self.store.active_rules_version()
        return active.version if active is not None else None

    @cached_property
    def engine(self) -> Engine:
        if self.engine_name == "python":
            from rules.pyengine import PythonEngine
            return PythonEngine(self.ruleset)
        from rules.durable_engine import DurableEngine
        return DurableEngine(self.ruleset)

    # -- store ------------------------------------------------------------------------------------
    @cached_property
    def store(self) -> Store:
        store = Store(self.config.database_url.get_secret_value())
        if not self.migrated:
            store.migrate()
        return store

    # -- CRMs -------------------------------------------------------------------------------------
    def crm_config(self, crm: str) -> CrmConnection:
        section = getattr(self.config, crm, None)
        if section is None or not section.enabled:
            raise KeyError(f"CRM {crm!r} is not configured")
        return section

    def enabled_crms(self) -> list[str]:
        return [crm for crm in ("salesforce", "hubspot")
                if getattr(self.config, crm, None) is not None and getattr(self.config, crm).enabled]

    def mappings(self, crm: str) -> dict[str, ObjectMapping]:
        """The configured objects of a CRM, each reading the rules' stage fields too."""
        section = self.crm_config(crm)
        result: dict[str, ObjectMapping] = {}
        for name, obj in section.objects.items():
            if not obj.enabled:
                continue
            kind = RecordKind(obj.kind)
            mapping = ObjectMapping(name, kind, {k: v for k, v in obj.fields.items() if v},
                                    read_only=READ_ONLY_FIELDS[crm])
            if kind.value in self.ruleset.kinds:
                mapping = mapping.with_extra(stage_fields_to_read(self.ruleset, kind.value, crm))
            result[name] = mapping
        return result

    def connector(self, crm: str) -> Connector:
        if crm not in self._connectors:
            self._connectors[crm] = self._build_connector(crm)
        return self._connectors[crm]

    def _build_connector(self, crm: str) -> Connector:
        section = self.crm_config(crm)
        if isinstance(section, SalesforceConfig):
            from connectors.salesforce import SalesforceConnector
            from connectors.salesforce_settings import SalesforceSettings
            use_login = section.auth in ("password", "oauth")
            # Every RQ job runs in a fresh fork: share one session through Redis instead of
            # logging in once per job (a login is an API call, and orgs cap logins per hour).
            cached = self.redis.get(self._session_key(section)) if use_login else None
            settings = SalesforceSettings(
                instance_url=section.instance_url, username=section.username,
                password=_secret(section.password), security_token=_secret(section.security_token),
                session_id=cached.decode() if cached else (None if use_login else _secret(section.session_id)),
                consumer_key=section.consumer_key, consumer_secret=_secret(section.consumer_secret),
                login_url=section.login_url or section.instance_url,
                ca_cert=str(section.ca_cert) if section.ca_cert else None,
                timeout_s=section.timeout_seconds, api_version=section.api_version,
                write_batch_size=self.config.write_back.batch_size.salesforce, objects=self.mappings(crm))
            connector = SalesforceConnector(settings)
            if use_login:
                self.redis.set(self._session_key(section), connector.session_id, ex=SESSION_TTL_S)
            return connector
        assert isinstance(section, HubSpotConfig)
        from connectors.hubspot import HubSpotConnector
        from connectors.hubspot_settings import HubSpotSettings
        settings_hs = HubSpotSettings(
            host=section.host, access_token=_secret(section.access_token) or "",
            ca_cert=str(section.ca_cert) if section.ca_cert else None, timeout_s=section.timeout_seconds,
            objects=self.mappings(crm), search_per_second=None)
        return HubSpotConnector(settings_hs)

    @staticmethod
    def _session_key(section: SalesforceConfig) -> str:
        account = hashlib.sha256(f"{section.instance_url}|{section.username}".encode()).hexdigest()[:16]
        return f"baton:salesforce:session:{account}"

    def remember_session(self, crm: str) -> None:
        """Share a session the connector refreshed (after expiry) with the other processes."""
        connector = self._connectors.get(crm)
        section = getattr(self.config, crm, None)
        if crm == "salesforce" and connector is not None and isinstance(section, SalesforceConfig) \
                and section.auth in ("password", "oauth"):
            self.redis.set(self._session_key(section), getattr(connector, "session_id"), ex=SESSION_TTL_S)

    def limiter(self, crm: str) -> RateLimiter:
        section = self.crm_config(crm)
        account = (getattr(section, "instance_url", None) or getattr(section, "host", None) or crm)
        return RateLimiter(self.redis, crm, str(account), profile=profile_from_config(crm, section.limits))

    def planner(self, crm: str, object_name: str) -> Planner:
        mapping = self.mappings(crm)[object_name]
        return Planner(self.ruleset, mapping.kind.value, crm, mapping.fields, writable=mapping.writable(),
                       hold_period=self.config.hold_period)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)

    def close(self) -> None:
        for connector in self._connectors.values():
            connector.close()
        self._connectors.clear()
