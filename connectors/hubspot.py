"""HubSpot connector on hubspot-api-client 12 (contacts, companies, deals through CRM v3).

Choices that matter for correctness and for Baton's accounting:

- **No hidden retries.** urllib3's default ``Retry(3)`` makes the SDK silently repeat a GET/PUT/DELETE
  that got 429/503 with ``Retry-After`` (sleeping each time) and repeat failed connections. The client
  is built with ``Retry(total=0, respect_retry_after_header=False)``, so every call reaches Baton's own
  retry policy exactly once and the ledger counts what went over the wire. Errors then surface as
  the SDK's ``ApiException`` (with status) or raw urllib3 errors, both mapped by
  ``connectors.hubspot_errors.map_error``.
- **A timeout on every call** (``_request_timeout=(connect, read)``): the SDK sets none.
- **Reads** use search on the modified-date property (``lastmodifieddate`` on contacts,
  ``hs_lastmodifieddate`` on companies and deals), paged by keyset with a fresh query per page and an
  upper bound fixed when the read starts (``connectors.hubspot_search``): records edited during a read
  are never skipped, and the 10,000-result cap never applies. A backfill uses the same pages (200
  records per call) or, with ``full_read="list"``, list pages (100 per call, not subject to the
  search rate limit).
- **Writes** go through batch update (100 per call); a 207 becomes per-record outcomes. A backward
  ``lifecyclestage`` move is two ordered calls: first ``""`` for those records, then the values.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import Any

from hubspot import HubSpot
from urllib3.util.retry import Retry

from connectors.accounting import CallLedger
from connectors.errors import FatalError
from connectors.hubspot_errors import CRM, RateLimitStatus, map_error
from connectors.hubspot_search import WindowedSearch
from connectors.hubspot_settings import HubSpotSettings
from connectors.hubspot_write import chunks, is_backward, merge_updates, outcomes_from_batch
from connectors.mapping import ObjectMapping, parse_datetime
from connectors.records import Crm, FieldUpdate, Record, RecordKind, Watermark, WriteOutcome

BATCH_SIZE = 100
LIST_PAGE_SIZE = 100
MODIFIED_PROPERTY = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate", "deals": "hs_lastmodifieddate"}
PERCENT_PROPERTIES = {"hs_deal_stage_probability"}   # HubSpot says 0.25 where the contract says 25


class _Pacer:
    """Spaces calls at least ``1/per_second`` apart (HubSpot's separate search limit)."""

    def __init__(self, per_second: float | None) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            delay, self._next = self._next - now, max(now, self._next) + self.interval
        if delay > 0:
            time.sleep(delay)


class HubSpotConnector:
    #: Properties this connector empties before setting them (the forward-only lifecycle stage). If a
    #: write stops between the two calls (a 429), the property is left empty by Baton, not by a person.
    cleared_before_set: frozenset[str] = frozenset({"lifecyclestage"})

    """Reads and writes one portal's contacts, companies and deals (see the module docstring)."""

    crm = Crm.HUBSPOT

    def __init__(self, settings: HubSpotSettings) -> None:
        self.settings = settings
        self.ledger = CallLedger()
        self.rate_limit: RateLimitStatus | None = None
        self._timeout = (settings.connect_timeout_s, settings.timeout_s)
        self._search_pacer = _Pacer(settings.search_per_second)
        options: dict[str, Any] = {"host": settings.host, "base_url": settings.host,
                                   "retry": Retry(total=0, respect_retry_after_header=False, raise_on_status=False,
                                                  raise_on_redirect=False)}
        if settings.ca_cert and settings.host.startswith("https"):
            options["ssl_ca_cert"] = settings.ca_cert
        self._client = HubSpot(access_token=settings.access_token, **options)
        self._apis: dict[str, Any] = {}

    # -- Connector protocol -----------------------------------------------------------------------
    def objects(self) -> dict[str, RecordKind]:
        return {name: mapping.kind for name, mapping in self.settings.objects.items()}

    def read_changed(self, object: str, since: Watermark | None, *,
                     lookback: timedelta = timedelta(minutes=5)) -> Iterator[list[Record]]:
        mapping = self._mapping(object)
        if since is None and self.settings.full_read == "list":
            yield from self._list_pages(object, mapping, archived=False, operation="read")
            return
        lower = None if since is None else int((since.modified_at - lookback).timestamp() * 1000)
        # Without a lookback a read resumes strictly after the watermark's (modified, id) pair, as the
        # Salesforce connector does; with one, the window re-opens at since - lookback (deliberate re-reads).
        after_id = since.last_id if since is not None and not lookback and since.last_id.isdigit() else None
        modified = MODIFIED_PROPERTY[object]
        search = WindowedSearch(lambda body: self._search(object, body), modified,
                                lambda r: int(parse_datetime(r.properties[modified]).timestamp() * 1000),
                                self._properties(mapping), self.settings.search_page_size)
        # Only a full read is bounded: it is long, and Baton's own write-back during it would otherwise
        # come round again in the same read. An incremental read is short; bounding it would defer an
        # edit made in the millisecond the read starts to the next read for no gain.
        upper = _read_upper_bound(lower) if since is None else None
        for page in search.pages(lower, after_id, upper):
            yield [self._record(object, mapping, item) for item in page]

    def fetch(self, object: str, ids: Sequence[str]) -> list[Record]:
        mapping = self._mapping(object)
        batch = self._api(object, "batch_api")
        records: list[Record] = []
        for chunk in chunks(list(dict.fromkeys(ids)), BATCH_SIZE):
            body = {"inputs": [{"id": i} for i in chunk], "properties": self._properties(mapping),
                    "propertiesWithHistory": []}
            response = self._call("fetch", len(chunk), BATCH_SIZE, batch.read_with_http_info, body, archived=False)
            records.extend(self._record(object, mapping, item) for item in response.results or [])
        return records

    def deleted_since(self, object: str, since: Watermark | None) -> list[str]:
        """Archived records (HubSpot keeps them 90 days) archived after ``since``: list pages with archived=true."""
        self._mapping(object)
        ids: list[str] = []
        for page in self._raw_list_pages(object, ["hs_object_id"], archived=True, operation="delete_scan"):
            for item in page:
                archived_at = item.archived_at
                if since is None or (archived_at is not None and archived_at > since.modified_at):
                    ids.append(str(item.id))
        return ids

    def write(self, object: str, updates: Sequence[FieldUpdate]) -> list[WriteOutcome]:
        self._mapping(object)
        merged = {i: c for i, c in merge_updates(updates).items() if c}
        outcomes: dict[str, WriteOutcome] = {}
        # Contacts and companies both have the forward-only lifecyclestage.
        backward = self._backward_lifecycle(object, merged, updates) \
            if any(c.get("lifecyclestage") for c in merged.values()) else set()
        if backward:   # step 1 of clear-then-set; only records whose clear succeeded get step 2
            cleared = self._batch_update(object, {i: {"lifecyclestage": ""} for i in merged if i in backward},
                                         operation="write_clear")
            outcomes.update({i: o for i, o in cleared.items() if not o.ok})
        outcomes.update(self._batch_update(object, {i: c for i, c in merged.items() if i not in outcomes}))
        return [outcomes.get(u.id) or WriteOutcome(u.id, ok=True, extra={"skipped": "no changes"}) for u in updates]

    def close(self) -> None:
        for api in self._apis.values():
            pool = getattr(getattr(api.api_client, "rest_client", None), "pool_manager", None)
            if pool is not None:
                pool.clear()
        self._apis.clear()

    # -- helpers the pipeline and tests use -------------------------------------------------------
    def plan_update(self, record: Record, desired: dict[str, Any]) -> FieldUpdate | None:
        """The FieldUpdate that moves ``record`` to the desired canonical values (only changed fields)."""
        mapping = self._mapping(record.object)
        changes = {mapping.fields[name]: value for name, value in desired.items()
                   if name in mapping.fields and record.fields.get(name) != value}
        return FieldUpdate(record.object, record.id, changes) if changes else None

    # -- internals --------------------------------------------------------------------------------
    def _mapping(self, object: str) -> ObjectMapping:
        mapping = self.settings.objects.get(object)
        if mapping is None:
            raise FatalError(f"object {object!r} is not configured; configured: {', '.join(self.settings.objects)}",
                             crm=CRM, operation="config")
        return mapping

    def _api(self, object: str, name: str) -> Any:
        """SDK API objects are built once: each discovery property access creates a new connection pool."""
        key = f"{object}.{name}"
        if key not in self._apis:
            self._apis[key] = getattr(getattr(self._client.crm, object), name)
        return self._apis[key]

    def _properties(self, mapping: ObjectMapping) -> list[str]:
        return sorted({*mapping.crm_fields(), MODIFIED_PROPERTY[mapping.object], "hs_object_id"})

    def _call(self, operation: str, records: int | Callable[[Any], int], max_per_call: int,
              method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One SDK call: timeout, ledger, rate-limit headers, error mapping.

        ``records`` is what the call carried, or a function of the response for reads (known only after).
        """
        try:
            data, status, headers = method(*args, _request_timeout=self._timeout, **kwargs)
        except Exception as error:
            self.ledger.record(operation, records=0 if callable(records) else records, max_per_call=max_per_call)
            mapped = map_error(error, operation)
            if mapped is None:
                raise
            self.rate_limit = RateLimitStatus.from_headers(getattr(error, "headers", None)) or self.rate_limit
            raise mapped from None
        self.ledger.record(operation, records=records(data) if callable(records) else records,
                           max_per_call=max_per_call)
        self.rate_limit = RateLimitStatus.from_headers(headers) or self.rate_limit
        if data is None and status != 204:
            raise FatalError(f"unexpected HTTP status {status} (the SDK returned no data)", crm=CRM,
                             operation=operation, status=status)
        return data

    def _search(self, object: str, body: dict[str, Any]) -> tuple[list[Any], str | None, int]:
        self._search_pacer.wait()
        api = self._api(object, "search_api")
        page = self._call("read", _result_count, self.settings.search_page_size, api.do_search_with_http_info, body)
        results = page.results or []
        next_after = page.paging.next.after if page.paging and page.paging.next else None
        return results, next_after, int(page.total or 0)

    def _raw_list_pages(self, object: str, properties: list[str], *, archived: bool,
                        operation: str) -> Iterator[list[Any]]:
        api = self._api(object, "basic_api")
        after: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": LIST_PAGE_SIZE, "properties": properties, "archived": archived}
            if after:
                kwargs["after"] = after
            page = self._call(operation, _result_count, LIST_PAGE_SIZE, api.get_page_with_http_info, **kwargs)
            yield page.results or []
            if not (page.paging and page.paging.next):
                return
            after = page.paging.next.after

    def _list_pages(self, object: str, mapping: ObjectMapping, *, archived: bool,
                    operation: str) -> Iterator[list[Record]]:
        for page in self._raw_list_pages(object, self._properties(mapping), archived=archived, operation=operation):
            if page:
                yield [self._record(object, mapping, item) for item in page]

    def _record(self, object: str, mapping: ObjectMapping, item: Any) -> Record:
        raw = dict(item.properties or {})
        modified = raw.get(MODIFIED_PROPERTY[object])
        fields = mapping.to_canonical(raw)
        for name, crm_field in mapping.fields.items():
            if crm_field in PERCENT_PROPERTIES and fields.get(name) is not None:
                fields[name] = round(fields[name] * 100, 6)
        return Record(crm=Crm.HUBSPOT, object=object, kind=mapping.kind, id=str(item.id),
                      modified_at=parse_datetime(modified) if modified else item.updated_at,
                      fields=fields, raw=raw, deleted=bool(item.archived))

    def _backward_lifecycle(self, object: str, merged: dict[str, dict[str, str]],
                            updates: Sequence[FieldUpdate] = ()) -> set[str]:
        """Ids whose lifecyclestage would move backward.

        The current stage comes from the caller's ``FieldUpdate.previous`` when it has it (the
        pipeline re-reads records just before writing); otherwise it is read here, one call per 100.
        """
        known = {u.id: u.previous["lifecyclestage"] for u in updates
                 if u.previous is not None and "lifecyclestage" in u.previous}
        backward = {i for i, c in merged.items()
                    if c.get("lifecyclestage") and i in known and is_backward(known[i], c["lifecyclestage"])}
        moving = [i for i, c in merged.items() if c.get("lifecyclestage") and i not in known]
        batch = self._api(object, "batch_api")
        for chunk in chunks(moving, BATCH_SIZE):
            body = {"inputs": [{"id": i} for i in chunk], "properties": ["lifecyclestage"], "propertiesWithHistory": []}
            response = self._call("write_check", len(chunk), BATCH_SIZE, batch.read_with_http_info, body,
                                  archived=False)
            for item in response.results or []:
                if is_backward((item.properties or {}).get("lifecyclestage"), merged[str(item.id)]["lifecyclestage"]):
                    backward.add(str(item.id))
        return backward

    def _batch_update(self, object: str, changes: dict[str, dict[str, str]],
                      operation: str = "write") -> dict[str, WriteOutcome]:
        batch = self._api(object, "batch_api")
        outcomes: dict[str, WriteOutcome] = {}
        for chunk in chunks(list(changes), BATCH_SIZE):
            body = {"inputs": [{"id": i, "properties": changes[i]} for i in chunk]}
            response = self._call(operation, len(chunk), BATCH_SIZE, batch.update_with_http_info, body)
            outcomes.update(outcomes_from_batch(chunk, response))
        return outcomes


def _read_upper_bound(lower_ms: int | None) -> int | None:
    """The last millisecond a read that starts now covers: records modified during it wait for the next read.

    One millisecond before now, so that nothing can still be stamped inside the range once the read has
    started. When the read's lower bound is already past the local clock (the portal's clock is ahead, or
    records were stamped in the future) the clock cannot bound the read: it runs unbounded, which can
    re-read a record edited during it but never skips one.
    """
    upper = int(time.time() * 1000) - 1
    return None if lower_ms is not None and lower_ms > upper else upper


def _result_count(response: Any) -> int:
    return len(getattr(response, "results", None) or [])
