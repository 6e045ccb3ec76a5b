"""sObject Collections: ``composite/sobjects`` create (POST), update (PATCH), delete (DELETE), retrieve (GET).

Up to 200 records per call, processed in order, one result per record in the same order. A
well-formed request answers 200 even when records fail; with ``allOrNone`` one failure rolls back
the call and every other record reports ``ALL_OR_NONE_OPERATION_ROLLED_BACK``. An injected lock
fault fails the call's first record with ``UNABLE_TO_LOCK_ROW`` (a parent row held by another job).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Response

from connectors.sandbox.salesforce.dml import Dml, PreparedWrite
from connectors.sandbox.salesforce.errors import SfError, unable_to_lock_row
from connectors.sandbox.salesforce.http import Call, json_response
from connectors.sandbox.salesforce.rest_sobjects import known_object, render_record
from connectors.sandbox.salesforce.schema import object_for_id
from connectors.sandbox.salesforce.store import OrgStore

MAX_RECORDS = 200
ROLLED_BACK = SfError(400, "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                      "Record rolled back because not all records were valid and the request was using AllOrNone header")
Prepare = Callable[[int, dict[str, Any]], PreparedWrite]


def _records_body(call: Call) -> tuple[bool, list[dict[str, Any]]]:
    body = call.json_body()
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise SfError(400, "JSON_PARSER_ERROR", "The request body must be an object with a 'records' array")
    records = body["records"]
    _check_count(len(records))
    if not all(isinstance(record, dict) for record in records):
        raise SfError(400, "JSON_PARSER_ERROR", "Every element of 'records' must be an object")
    return bool(body.get("allOrNone", False)), records


def _check_count(count: int) -> None:
    if count > MAX_RECORDS:
        raise SfError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")


def _record_type(record: dict[str, Any]) -> str:
    record_type = (record.get("attributes") or {}).get("type")
    if not record_type:
        raise SfError(400, "INVALID_FIELD", "No type provided for record: attributes.type is required", [])
    return str(record_type)


def _result(record_id: str | None, error: SfError | None) -> dict[str, Any]:
    if error is None:
        return {"id": record_id, "success": True, "errors": []}
    return {"id": record_id, "success": False, "errors": [error.record_error()]}


def _run(store: OrgStore, dml: Dml, call: Call, records: list[dict[str, Any]], all_or_none: bool,
         lock_first: bool, prepare: Prepare, record_id: Callable[[dict[str, Any]], str | None]) -> Response:
    """Prepare each record in order; commit as we go, or (allOrNone) only if every record passed."""
    results: list[dict[str, Any]] = []
    prepared_all: list[PreparedWrite] = []
    with store.lock:
        for index, record in enumerate(records):
            try:
                if lock_first and index == 0:
                    raise unable_to_lock_row()
                prepared = prepare(index, record)
            except SfError as error:
                results.append(_result(record_id(record), error))
                continue
            if not all_or_none:
                dml.commit(prepared)
            prepared_all.append(prepared)
            results.append(_result(prepared.id, None))
        failed = any(not result["success"] for result in results)
        if all_or_none and failed:
            results = [result if not result["success"] else {**_result(result["id"], ROLLED_BACK)}
                       for result in results]
        elif all_or_none:
            for prepared in prepared_all:
                dml.commit(prepared)
    call.records = len(records)
    return json_response(results)


def create(store: OrgStore, dml: Dml, call: Call, lock_first: bool) -> Response:
    all_or_none, records = _records_body(call)
    if any("id" in record or "Id" in record for record in records):
        raise SfError(400, "INVALID_FIELD", "Cannot specify Id in an insert call", ["Id"])
    return _run(store, dml, call, records, all_or_none, lock_first,
                lambda _, record: dml.prepare_create(_record_type(record), record, stamp=call.stamp),
                lambda record: None)


def update(store: OrgStore, dml: Dml, call: Call, lock_first: bool, fail: Callable[[str], str | None]) -> Response:
    all_or_none, records = _records_body(call)

    def prepare(_: int, record: dict[str, Any]) -> PreparedWrite:
        rid = _id_of(record)
        if not rid:
            raise SfError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        return dml.prepare_update(_record_type(record), rid, record, stamp=call.stamp, fail_message=fail(rid))

    return _run(store, dml, call, records, all_or_none, lock_first, prepare, _id_of)


def _id_of(record: dict[str, Any]) -> str | None:
    value = record.get("id") or record.get("Id")
    return str(value) if value else None


def delete(store: OrgStore, dml: Dml, call: Call, lock_first: bool) -> Response:
    ids = [part for part in call.request.args.get("ids", "").split(",") if part]
    _check_count(len(ids))
    all_or_none = call.request.args.get("allOrNone", "false").lower() == "true"
    results: list[dict[str, Any]] = []
    with store.lock:
        for index, rid in enumerate(ids):
            obj = object_for_id(rid)
            try:
                if lock_first and index == 0:
                    raise unable_to_lock_row()
                if obj is None:
                    raise SfError(400, "MALFORMED_ID", f"malformed id {rid}", [])
                dml.existing(obj, rid)
                results.append(_result(rid, None))
            except SfError as error:
                results.append(_result(rid, error))
        if all_or_none and any(not r["success"] for r in results):
            results = [r if not r["success"] else _result(r["id"], ROLLED_BACK) for r in results]
        else:
            for result in results:
                if result["success"]:
                    dml.delete(object_for_id(result["id"]).name, result["id"], call.stamp)  # type: ignore[union-attr]
    call.records = len(ids)
    return json_response(results)


def retrieve(store: OrgStore, dml: Dml, call: Call, name: str) -> Response:
    obj = known_object(name)
    ids = [part for part in call.request.args.get("ids", "").split(",") if part]
    _check_count(len(ids))
    fields = [part.strip().lower() for part in call.request.args.get("fields", "").split(",") if part.strip()]
    if not fields:
        raise SfError(400, "MISSING_ARGUMENT", "fields parameter is required")
    with store.lock:
        out = []
        for rid in ids:
            row = store.lookup(obj.name, rid)
            out.append(render_record(obj, row, call.version, fields) if row else None)
        call.serve(obj.name, [rid for rid in ids])
    call.records = len(ids)
    return json_response(out)
