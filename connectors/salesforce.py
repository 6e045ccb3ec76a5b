"""The Salesforce connector on the real simple-salesforce 1.12 SDK (configuration only, no patches).

- Reads: SOQL ``query`` + ``nextRecordsUrl`` paging (``Sforce-Query-Options: batchSize``), ordered by
  ``SystemModstamp, Id`` with a strict tie-break predicate and a lookback window (``salesforce_soql``).
- Deleted records: ``queryAll`` with ``IsDeleted = true``.
- Writes: sObject Collections PATCH, 200 records per call, ``allOrNone: false``, one
  :class:`WriteOutcome` per record (a rejected record never raises).
- Errors: one mapping (``salesforce_errors``); an expired session is refreshed once by logging in again.
- Accounting: every API call lands in ``ledger`` (read / deleted / verify / write / auth), and the org's
  ``Sforce-Limit-Info`` usage is kept in ``api_usage`` for the rate limiter.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession

from connectors.accounting import CallLedger
from connectors.errors import AuthError, FatalError
from connectors.mapping import ObjectMapping, parse_datetime
from connectors.records import Crm, FieldUpdate, Record, RecordKind, Watermark, WriteOutcome
from connectors.salesforce_errors import CRM, map_error
from connectors.salesforce_http import build_session
from connectors.salesforce_settings import SalesforceSettings
from connectors.salesforce_soql import by_ids_query, changed_query, deleted_query

logger = logging.getLogger(__name__)
T = TypeVar("T")
QUERY_PAGE_MAX = 2000
COLLECTIONS_MAX = 200
RETRIABLE_RECORD_CODES = frozenset({"UNABLE_TO_LOCK_ROW"})


@dataclass(frozen=True, slots=True)
class ApiUsage:
    """The org's daily API usage as of the last response (``Sforce-Limit-Info: api-usage=used/limit``)."""

    used: int
    limit: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


class SalesforceConnector:
    """:class:`connectors.base.Connector` for one Salesforce org."""

    crm = Crm.SALESFORCE

    def __init__(self, settings: SalesforceSettings, ledger: CallLedger | None = None) -> None:
        self.settings = settings
        self.ledger = ledger or CallLedger()
        self.api_usage: ApiUsage | None = None
        self._session = build_session(timeout_s=settings.timeout_s, ca_cert=settings.ca_cert,
                                      login_url=settings.login_url, domain=settings.domain)
        self._sf = self._connect()

    @property
    def session_id(self) -> str:
        """The current session (to share with other processes, so each does not log in again)."""
        return str(self._sf.session_id)

    # -- connection ----------------------------------------------------------------------------------
    def _connect(self) -> Salesforce:
        s = self.settings
        if s.starts_with_session:
            if not s.session_id:
                raise AuthError("auth is 'session' but no session_id is configured", crm=CRM, operation="connect")
            return Salesforce(instance_url=s.instance_url, session_id=s.session_id, session=self._session,
                              version=s.api_version)
        return self._login()

    def _login(self) -> Salesforce:
        """Log in with the configured flow: the SOAP login, or the OAuth2 password grant."""
        s = self.settings
        flow = s.login_flow
        if flow is None:
            raise AuthError("cannot log in: configure username and password, plus security_token (auth: password) "
                            "or consumer_key and consumer_secret (auth: oauth)", crm=CRM, operation="login")
        credentials: dict[str, Any] = {"username": s.username, "password": s.password}
        if flow == "password":
            credentials["security_token"] = s.security_token or ""
        else:
            credentials.update(consumer_key=s.consumer_key, consumer_secret=s.consumer_secret)
        try:
            sf = Salesforce(**credentials, session=self._session, domain=s.domain, version=s.api_version)
        except Exception as exc:  # noqa: BLE001 - every failure goes through the one mapping
            self.ledger.record("auth")
            raise map_error(exc, "login") from None
        self.ledger.record("auth")
        logger.info("salesforce: logged in (%s) as %s", flow, s.username)
        return sf

    def _call(self, operation: str, max_per_call: int, request: Callable[[Salesforce], T],
              count: Callable[[T], int]) -> T:
        """One API call, accounted; an expired session is refreshed by one new login and the call retried."""
        try:
            result = self._attempt(operation, max_per_call, request, count, retry=False)
        except SalesforceExpiredSession:
            if self.settings.login_flow is None:
                raise AuthError("session expired or invalid and no credentials to log in again", crm=CRM,
                                operation=operation, status=401, code="INVALID_SESSION_ID") from None
            logger.info("salesforce: session expired, logging in again")
            self._sf = self._login()
            try:
                result = self._attempt(operation, max_per_call, request, count, retry=True)
            except Exception as exc:  # noqa: BLE001
                raise map_error(exc, operation) from None
        except Exception as exc:  # noqa: BLE001
            raise map_error(exc, operation) from None
        return result

    def _attempt(self, operation: str, max_per_call: int, request: Callable[[Salesforce], T],
                 count: Callable[[T], int], *, retry: bool) -> T:
        try:
            result = request(self._sf)
        except Exception:
            self.ledger.record(operation, records=0, max_per_call=max_per_call, retry=retry)
            self._note_usage()
            raise
        self.ledger.record(operation, records=count(result), max_per_call=max_per_call, retry=retry)
        self._note_usage()
        return result

    def _note_usage(self) -> None:
        usage = self._sf.api_usage.get("api-usage")
        if usage is not None:
            self.api_usage = ApiUsage(used=usage.used, limit=usage.total)

    # -- reads ---------------------------------------------------------------------------------------
    def objects(self) -> dict[str, RecordKind]:
        return {name: mapping.kind for name, mapping in self.settings.objects.items()}

    def _mapping(self, object_name: str) -> ObjectMapping:
        mapping = self.settings.objects.get(object_name)
        if mapping is None:
            raise FatalError(f"object {object_name!r} is not configured (known: {', '.join(self.settings.objects)})",
                             crm=CRM, operation="read")
        return mapping

    @staticmethod
    def _select_fields(mapping: ObjectMapping) -> list[str]:
        extra = [name for name in mapping.crm_fields() if name not in ("Id", "SystemModstamp")]
        return ["Id", "SystemModstamp", *extra]

    def read_changed(self, object: str, since: Watermark | None, *,
                     lookback: dt.timedelta = dt.timedelta(minutes=5)) -> Iterator[list[Record]]:
        mapping = self._mapping(object)
        soql = changed_query(object, self._select_fields(mapping), since, lookback)
        for page in self._pages("read", soql, include_deleted=False):
            yield [self._record(mapping, row) for row in page]

    def _pages(self, operation: str, soql: str, *, include_deleted: bool,
               max_per_call: int = QUERY_PAGE_MAX) -> Iterator[list[dict[str, Any]]]:
        headers = {"Sforce-Query-Options": f"batchSize={self.settings.query_batch_size}"}
        size: Callable[[Any], int] = lambda result: len(result["records"])
        result = self._call(operation, max_per_call,
                            lambda sf: sf.query(soql, include_deleted=include_deleted, headers=headers), size)
        while True:
            yield list(result["records"])
            if result["done"]:
                return
            next_url = result["nextRecordsUrl"]
            result = self._call(operation, max_per_call, self._more(next_url, headers), size)

    @staticmethod
    def _more(next_url: str, headers: dict[str, str]) -> Callable[[Salesforce], Any]:
        return lambda sf: sf.query_more(next_url, identifier_is_url=True, headers=headers)

    def _record(self, mapping: ObjectMapping, row: dict[str, Any]) -> Record:
        raw = flatten(row)
        return Record(crm=Crm.SALESFORCE, object=mapping.object, kind=mapping.kind, id=raw["Id"],
                      modified_at=parse_datetime(raw["SystemModstamp"]), fields=mapping.to_canonical(raw), raw=raw,
                      deleted=raw.get("IsDeleted") is True)

    def fetch(self, object: str, ids: Sequence[str]) -> list[Record]:
        mapping = self._mapping(object)
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Record] = {}
        step = self.settings.fetch_batch_size
        for start in range(0, len(wanted), step):
            soql = by_ids_query(object, self._select_fields(mapping), wanted[start:start + step])
            # the id list travels in the URL, so a verify call carries at most fetch_batch_size records
            for page in self._pages("verify", soql, include_deleted=False, max_per_call=step):
                found.update((record.id, record) for record in (self._record(mapping, row) for row in page))
        return [found[i] for i in wanted if i in found]

    def deleted_since(self, object: str, since: Watermark | None) -> list[str]:
        self._mapping(object)
        return [row["Id"] for page in self._pages("deleted", deleted_query(object, since), include_deleted=True)
                for row in page]

    # -- writes --------------------------------------------------------------------------------------
    def write(self, object: str, updates: Sequence[FieldUpdate]) -> list[WriteOutcome]:
        outcomes: list[WriteOutcome | None] = [None] * len(updates)
        pending: list[tuple[int, FieldUpdate]] = []
        for index, update in enumerate(updates):
            if update.changes:
                pending.append((index, update))
            else:
                outcomes[index] = WriteOutcome(id=update.id, ok=True, extra={"skipped": "no changes"})
        step = min(self.settings.write_batch_size, COLLECTIONS_MAX)
        for start in range(0, len(pending), step):
            chunk = pending[start:start + step]
            for (index, update), outcome in zip(chunk, self._write_chunk(object, [u for _, u in chunk])):
                outcomes[index] = outcome
        return [outcome for outcome in outcomes if outcome is not None]

    def _write_chunk(self, object: str, updates: list[FieldUpdate]) -> list[WriteOutcome]:
        payload = {"allOrNone": False, "records": [
            {"attributes": {"type": update.object or object}, "id": update.id,
             **{name: wire_value(value) for name, value in update.changes.items()}} for update in updates]}
        results = self._call("write", COLLECTIONS_MAX,
                             lambda sf: sf.restful("composite/sobjects", method="PATCH", json=payload),
                             lambda _: len(updates))
        if not isinstance(results, list) or len(results) != len(updates):
            raise FatalError("sObject Collections answered with an unexpected body", crm=CRM, operation="write")
        return [outcome(update.id, result) for update, result in zip(updates, results)]

    def close(self) -> None:
        self._session.close()


def outcome(record_id: str, result: dict[str, Any]) -> WriteOutcome:
    """A per-record Collections result as a WriteOutcome (UNABLE_TO_LOCK_ROW is worth retrying)."""
    if result.get("success"):
        return WriteOutcome(id=record_id, ok=True)
    errors = result.get("errors") or [{}]
    first = errors[0]
    code = first.get("statusCode") or first.get("errorCode")
    return WriteOutcome(id=record_id, ok=False, error_code=code, message=first.get("message"),
                        retriable=code in RETRIABLE_RECORD_CODES, fields=tuple(first.get("fields") or ()),
                        extra={"errors": errors[1:]} if len(errors) > 1 else {})


def wire_value(value: Any) -> Any:
    """A Python value as Salesforce JSON: dates ISO, datetimes UTC with ms, the rest unchanged."""
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A query row without ``attributes``, relationship fields as dotted keys (``Account.Name``)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == "attributes":
            continue
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
