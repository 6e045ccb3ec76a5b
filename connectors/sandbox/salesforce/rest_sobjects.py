"""sObject resources: global describe, describe, create, get, update, upsert, delete, updated/deleted."""
from __future__ import annotations

import datetime as dt
from typing import Any

from werkzeug.wrappers import Response

from connectors.sandbox.salesforce.dml import Dml, writable_object
from connectors.sandbox.salesforce.errors import SfError, not_found
from connectors.sandbox.salesforce.http import Call, json_response, no_content
from connectors.sandbox.salesforce.schema import OBJECTS, ObjectDef, find_object
from connectors.sandbox.salesforce.soql_eval import attributes, wire_value
from connectors.sandbox.salesforce.store import OrgStore
from connectors.sandbox.salesforce.values import format_datetime, parse_datetime

FailLookup = Any   # callable: record id -> injected validation message or None


def global_describe(call: Call) -> Response:
    return json_response({"encoding": "UTF-8", "maxBatchSize": 200,
                          "sobjects": [obj.summary(call.version) for obj in OBJECTS.values()]})


def known_object(name: str) -> ObjectDef:
    obj = find_object(name)
    if obj is None:
        raise not_found()
    return obj


def describe(call: Call, name: str) -> Response:
    return json_response(known_object(name).describe(call.version))


def object_info(store: OrgStore, call: Call, name: str) -> Response:
    obj = known_object(name)
    with store.lock:
        recent = sorted(store.rows(obj.name), key=lambda row: row.get("SystemModstamp") or dt.datetime.min,
                        reverse=True)[:10]
        return json_response({"objectDescribe": obj.summary(call.version),
                              "recentItems": [{"attributes": attributes(obj.name, row["Id"], call.version),
                                               "Id": row["Id"]} for row in recent]})


def render_record(obj: ObjectDef, row: dict[str, Any], version: str, fields: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": attributes(obj.name, row["Id"], version)}
    for field in obj.fields:
        if fields is None or field.name.lower() in fields:
            out[field.name] = wire_value(field, row.get(field.name))
    return out


def get_record(store: OrgStore, dml: Dml, call: Call, name: str, record_id: str) -> Response:
    obj = known_object(name)
    wanted = call.request.args.get("fields")
    fields = [part.strip().lower() for part in wanted.split(",")] if wanted else None
    if fields:
        unknown = [part for part in fields if obj.field(part) is None]
        if unknown:
            raise SfError(400, "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type {obj.name}")
    with store.lock:
        row = dml.existing(obj, record_id)
        call.serve(obj.name, [row["Id"]])
        call.records = 1
        return json_response(render_record(obj, row, call.version, fields))


def create(store: OrgStore, dml: Dml, call: Call, name: str, fail: FailLookup) -> Response:
    data = _object_body(call)
    with store.lock:
        prepared = dml.prepare_create(name, data, stamp=call.stamp, fail_message=None)
        dml.commit(prepared)
    call.records = 1
    return json_response({"id": prepared.id, "success": True, "errors": []}, 201)


def update(store: OrgStore, dml: Dml, call: Call, name: str, record_id: str, fail: FailLookup) -> Response:
    data = _object_body(call)
    with store.lock:
        prepared = dml.prepare_update(name, record_id, data, stamp=call.stamp, fail_message=fail(record_id))
        dml.commit(prepared)
    call.records = 1
    return no_content()


def delete(store: OrgStore, dml: Dml, call: Call, name: str, record_id: str) -> Response:
    with store.lock:
        dml.delete(name, record_id, call.stamp)
    call.records = 1
    return no_content()


def upsert(store: OrgStore, dml: Dml, call: Call, name: str, field_name: str, value: str, fail: FailLookup) -> Response:
    """``PATCH sobjects/{T}/{ExternalIdField}/{value}``: create (201) or update (200) by external id."""
    obj = writable_object(name)
    field = obj.field(field_name)
    if field is None or not (field.external_id or field.name == "Id"):
        raise SfError(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field_name}")
    data = _object_body(call)
    with store.lock:
        if field.name == "Id":
            matches = [row for row in [store.lookup(obj.name, value)] if row]
        else:
            matches = [row for row in store.rows(obj.name) if row.get(field.name) == value]
        if len(matches) > 1:
            return json_response([f"/services/data/v{call.version}/sobjects/{obj.name}/{row['Id']}"
                                  for row in matches], 300)
        if matches:
            record_id = matches[0]["Id"]
            prepared = dml.prepare_update(obj.name, record_id, data, stamp=call.stamp, fail_message=fail(record_id))
        else:
            if field.name == "Id":
                raise not_found()
            prepared = dml.prepare_create(obj.name, {**data, field.name: value}, stamp=call.stamp)
        dml.commit(prepared)
    call.records = 1
    body = {"id": prepared.id, "success": True, "errors": [], "created": prepared.created}
    return json_response(body, 201 if prepared.created else 200)


def changed_ids(store: OrgStore, call: Call, name: str, kind: str) -> Response:
    """``sobjects/{T}/updated`` and ``sobjects/{T}/deleted`` with ``start`` and ``end``."""
    obj = known_object(name)
    try:
        start = parse_datetime(call.request.args["start"])
        end = parse_datetime(call.request.args["end"])
    except (KeyError, ValueError):
        raise SfError(400, "INVALID_REPLICATION_DATE", "start and end must be valid dateTime values") from None
    with store.lock:
        rows = [row for row in store.rows(obj.name, include_deleted=True)
                if start <= row["SystemModstamp"] < end and bool(row.get("IsDeleted")) == (kind == "deleted")]
    latest = format_datetime(end.replace(second=0, microsecond=0))
    if kind == "updated":
        return json_response({"ids": [row["Id"] for row in rows], "latestDateCovered": latest})
    return json_response({"deletedRecords": [{"id": row["Id"], "deletedDate": format_datetime(row["SystemModstamp"])}
                                             for row in rows],
                          "earliestDateAvailable": format_datetime(start), "latestDateCovered": latest})


def limits(store: OrgStore) -> Response:
    remaining = max(0, store.api_max - store.api_used)
    return json_response({"DailyApiRequests": {"Max": store.api_max, "Remaining": remaining},
                          "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                          "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200}})


def _object_body(call: Call) -> dict[str, Any]:
    body = call.json_body()
    if not isinstance(body, dict):
        raise SfError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of SObject from a non-object value")
    return body
