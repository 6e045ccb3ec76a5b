"""Handlers of the objects API (``/crm/v3/objects/{type}...``): list, get, create, update, archive,
batch read/create/update/archive and search, with HubSpot's status codes and per-input 207 errors.

Handlers return ``(status, body, served_ids)``; ``served_ids`` are the records a read handed out
(the app applies "edit after read" faults to them).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.sandbox.hubspot.errors import (
    HubSpotApiError,
    InputError,
    bad_request,
    not_found,
    validation_error,
    validation_message,
)
from connectors.sandbox.hubspot.search import SearchEngine, parse_request
from connectors.sandbox.hubspot.store import PortalStore, StoredRecord, ValidationFailed
from connectors.sandbox.hubspot.timeutil import iso_ms, now_ms

BATCH_MAX = 100
LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT = 10, 100
Result = tuple[int, Any, list[str]]
FailureLookup = Callable[[str], "str | None"]   # injected per-record failures (fault plan)

OBJECT_NAMES = {"contacts": "CONTACT", "companies": "COMPANY", "deals": "DEAL"}


def parse_bool(text: str | None) -> bool:
    """``archived=False`` (the SDK's spelling), ``false``, ``true``, ``True``..."""
    return (text or "").strip().lower() == "true"


def list_properties(values: list[str]) -> list[str]:
    """Accept ``properties`` repeated and/or comma-separated."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


class ObjectsApi:
    def __init__(self, store: PortalStore, search: SearchEngine, failure_for: FailureLookup) -> None:
        self.store, self.engine, self.failure_for = store, search, failure_for

    # -- single-record endpoints ---------------------------------------------------------------
    def list_page(self, object_type: str, args: Any) -> Result:
        limit = int(args.get("limit") or LIST_DEFAULT_LIMIT)
        if not 1 <= limit <= LIST_MAX_LIMIT:
            raise bad_request(f"limit must be between 1 and {LIST_MAX_LIMIT}")
        after = args.get("after") or "0"
        if not after.isdigit():
            raise bad_request(f"Invalid after cursor: {after}")
        wanted = list_properties(args.getlist("properties"))
        with self.store.lock:
            page, next_id = self.store.list_page(object_type, int(after), limit, parse_bool(args.get("archived")))
            body: dict[str, Any] = {"results": [r.to_json(object_type, wanted) for r in page]}
        if next_id is not None:
            body["paging"] = {"next": {"after": str(next_id), "link": f"?after={next_id}"}}
        return 200, body, [str(r.id) for r in page]

    def get(self, object_type: str, record_id: str, args: Any) -> Result:
        archived = parse_bool(args.get("archived"))
        with self.store.lock:
            id_property = args.get("idProperty")
            record = (self.store.find_by(object_type, id_property, record_id) if id_property
                      else self.store.get(object_type, record_id, archived=archived))
            if record is None:
                raise not_found(object_type, record_id)
            body = record.to_json(object_type, list_properties(args.getlist("properties")))
        return 200, body, [str(record.id)]

    def create(self, object_type: str, body: dict[str, Any]) -> Result:
        record = self._create_one(object_type, body.get("properties") or {})
        return 201, record.to_json(object_type, list(body.get("properties") or {})), []

    def update(self, object_type: str, record_id: str, body: dict[str, Any]) -> Result:
        properties = body.get("properties") or {}
        injected = self.failure_for(record_id)
        if injected:
            raise HubSpotApiError(400, "VALIDATION_ERROR", injected)
        try:
            record = self.store.update(object_type, record_id, properties)
        except KeyError:
            raise not_found(object_type, record_id) from None
        except ValidationFailed as failed:
            raise validation_error(failed.problems) from None
        return 200, record.to_json(object_type, list(properties)), []

    def archive(self, object_type: str, record_id: str) -> Result:
        self.store.archive(object_type, record_id)   # HubSpot answers 204 even for an unknown id
        return 204, None, []

    def _create_one(self, object_type: str, properties: dict[str, Any]) -> StoredRecord:
        try:
            return self.store.create(object_type, properties)
        except ValidationFailed as failed:
            raise validation_error(failed.problems) from None

    # -- batch endpoints -----------------------------------------------------------------------
    def batch(self, object_type: str, action: str, body: dict[str, Any], args: Any) -> Result:
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise bad_request("inputs is required")
        if len(inputs) > BATCH_MAX:
            raise bad_request(f"Too many inputs: {len(inputs)}; at most {BATCH_MAX} are allowed per batch")
        handler = {"read": self._batch_read, "create": self._batch_create, "update": self._batch_update,
                   "archive": self._batch_archive}.get(action)
        if handler is None:
            raise HubSpotApiError(404, "OBJECT_NOT_FOUND", f"Unknown batch action: {action}")
        return handler(object_type, inputs, body, args)

    def _batch_read(self, object_type: str, inputs: list[dict[str, Any]], body: dict[str, Any], args: Any) -> Result:
        wanted = list(body.get("properties") or [])
        id_property = body.get("idProperty")
        archived = parse_bool(args.get("archived"))
        results, missing = [], []
        with self.store.lock:
            for item in inputs:
                key = str(item.get("id", ""))
                record = (self.store.find_by(object_type, id_property, key) if id_property
                          else self.store.get(object_type, key, archived=archived))
                if record is None:
                    missing.append(key)
                else:
                    results.append(record)
            rendered = [r.to_json(object_type, wanted) for r in results]
        errors = []
        if missing:
            errors.append(InputError("OBJECT_NOT_FOUND",
                                     f"Could not get some {OBJECT_NAMES[object_type]} objects, they may be deleted "
                                     f"or not exist. Check that ids are valid.", {"ids": missing}))
        return (*_batch_result(200, rendered, errors), [str(r.id) for r in results])

    def _batch_create(self, object_type: str, inputs: list[dict[str, Any]], body: dict[str, Any],
                      args: Any) -> Result:
        # All-or-nothing unless every input carries an objectWriteTraceId (HubSpot's multi-status opt-in).
        traced = all(item.get("objectWriteTraceId") for item in inputs)
        if not traced:
            for item in inputs:
                try:
                    self.store.validate(object_type, item.get("properties") or {})
                except ValidationFailed as failed:
                    raise validation_error(failed.problems) from None
        results, errors = [], []
        for item in inputs:
            try:
                record = self.store.create(object_type, item.get("properties") or {})
                results.append(record.to_json(object_type, list(item.get("properties") or {})))
            except ValidationFailed as failed:
                if not traced:
                    raise validation_error(failed.problems) from None
                errors.append(_validation_input_error(failed, [str(item["objectWriteTraceId"])]))
        return (*_batch_result(201, results, errors), [])

    def _batch_update(self, object_type: str, inputs: list[dict[str, Any]], body: dict[str, Any],
                      args: Any) -> Result:
        ids = [str(item.get("id", "")) for item in inputs]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise bad_request(f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique")
        results, errors = [], []
        for record_id, item in zip(ids, inputs):
            properties = item.get("properties") or {}
            injected = self.failure_for(record_id)
            if injected:
                errors.append(InputError("VALIDATION_ERROR", injected, {"ids": [record_id]}))
                continue
            try:
                record = self.store.update(object_type, record_id, properties)
                results.append(record.to_json(object_type, list(properties)))
            except KeyError:
                errors.append(InputError("OBJECT_NOT_FOUND", f"Could not find {OBJECT_NAMES[object_type]} with id "
                                                             f"{record_id}", {"ids": [record_id]}))
            except ValidationFailed as failed:
                errors.append(_validation_input_error(failed, [record_id]))
            except HubSpotApiError as refused:   # e.g. 409 CONFLICT on an email already in use
                errors.append(InputError(refused.category, refused.message, {"ids": [record_id]}))
        return (*_batch_result(200, results, errors), [])

    def _batch_archive(self, object_type: str, inputs: list[dict[str, Any]], body: dict[str, Any],
                       args: Any) -> Result:
        for item in inputs:
            self.store.archive(object_type, str(item.get("id", "")))
        return 204, None, []

    # -- search --------------------------------------------------------------------------------
    def search(self, object_type: str, body: dict[str, Any]) -> Result:
        request = parse_request(body)
        total, page = self.engine.search(object_type, request)
        with self.store.lock:
            rendered = [r.to_json(object_type, request.properties) for r in page]
        result: dict[str, Any] = {"total": total, "results": rendered}
        next_after = request.after + len(page)
        if page and next_after < total:
            result["paging"] = {"next": {"after": str(next_after), "link": f"?after={next_after}"}}
        return 200, result, [str(r.id) for r in page]


def _validation_input_error(failed: ValidationFailed, ids: list[str]) -> InputError:
    return InputError("VALIDATION_ERROR", validation_message(failed.problems),
                      {"ids": ids, "propertyName": [p.name for p in failed.problems]},
                      [p.detail() for p in failed.problems])


def _batch_result(ok_status: int, results: list[dict[str, Any]], errors: list[InputError]) -> tuple[int, dict[str, Any]]:
    stamp = iso_ms(now_ms())
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "requestedAt": stamp, "startedAt": stamp,
                            "completedAt": iso_ms(now_ms())}
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = [e.to_json() for e in errors]
        return 207, body
    return ok_status, body
