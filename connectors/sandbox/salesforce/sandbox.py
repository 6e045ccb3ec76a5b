"""``SalesforceSandbox``: one in-memory org, its users and sessions, faults and counters, as a WSGI app."""
from __future__ import annotations

import datetime as dt
from typing import Any

from connectors.sandbox.faults import CallCounters, FaultInjector
from connectors.sandbox.salesforce.app import SalesforceApp
from connectors.sandbox.salesforce.auth import Credentials, Sessions
from connectors.sandbox.salesforce.dml import Dml, writable_object
from connectors.sandbox.salesforce.errors import SfError
from connectors.sandbox.salesforce.seeding import seed, seed_metadata
from connectors.sandbox.salesforce.store import OTHER_USER_ID, OrgStore
from connectors.sandbox.salesforce.values import format_datetime, truncate_ms
from connectors.sandbox.seed import SeedData


class SalesforceSandbox:
    """A Salesforce org on the wire, seeded from ``data`` (or empty but for the stage metadata)."""

    def __init__(self, data: SeedData | None = None, *, daily_api_limit: int = 100_000) -> None:
        self.store = OrgStore(daily_api_limit)
        self.dml = Dml(self.store)
        self.faults = FaultInjector()
        self.counters = CallCounters()
        self.credentials = Credentials()
        self.sessions = Sessions()
        if data is not None:
            seed(self.store, data)
        else:
            seed_metadata(self.store, dt.datetime.now(dt.UTC))
        self._app = SalesforceApp(self)

    def wsgi_app(self) -> SalesforceApp:
        return self._app

    def client_info(self, base_url: str, ca_cert: str | None) -> dict[str, Any]:
        """What a client needs to connect: instance URL, login secrets, a ready session, the CA cert."""
        c = self.credentials
        return {"instance_url": base_url, "username": c.username, "password": c.password,
                "security_token": c.security_token, "session_id": self.sessions.issue(), "ca_cert": ca_cert,
                "consumer_key": c.consumer_key, "consumer_secret": c.consumer_secret}

    def edit_as_other_user(self, object_name: str, record_id: str, fields: dict[str, Any], *,
                           force: bool = False) -> dict[str, Any]:
        """An edit made in the CRM by someone else; ``force`` writes raw values past the write rules."""
        stamp = self.store.clock.now()
        with self.store.lock:
            if force:
                obj = writable_object(object_name)
                row = self.dml.existing(obj, record_id)
                row.update(fields)
                row.update({"SystemModstamp": stamp, "LastModifiedDate": stamp, "LastModifiedById": OTHER_USER_ID})
            else:
                self.dml.commit(self.dml.prepare_update(object_name, record_id, fields, stamp=stamp, user=OTHER_USER_ID))
        return {"id": record_id, "SystemModstamp": format_datetime(stamp)}

    def apply_edits_after_read(self, object_name: str, ids: set[str]) -> None:
        for edit in self.faults.take_edits_after_read(object_name, ids):
            try:
                self.edit_as_other_user(object_name, edit["id"], edit.get("fields", {}), force=bool(edit.get("force")))
            except SfError:
                pass   # a planned edit the rules refuse is simply not made, as a user's save would fail

    def touch(self, object_name: str, ids: list[str], stamp: dt.datetime | None = None) -> dict[str, Any]:
        """Give every listed record one identical SystemModstamp (a bulk job's tie, for tie-break tests)."""
        stamp = truncate_ms(stamp) if stamp else self.store.clock.now()
        obj = writable_object(object_name)
        with self.store.lock:
            for record_id in ids:
                row = self.dml.existing(obj, record_id)
                row.update({"SystemModstamp": stamp, "LastModifiedDate": stamp, "LastModifiedById": OTHER_USER_ID})
        return {"timestamp": format_datetime(stamp), "count": len(ids)}
