"""Create, update and delete with the org's business rules.

Checked in the order Salesforce applies them: the record exists and is writable (converted leads are
read-only), every field exists and may be written, values have the field's type, restricted picklists
hold a known value, required fields are present, then validation rules (here: the injected
``fail_records`` messages). Derived fields follow: Opportunity ``Probability`` (from the stage unless
the same write sets it), ``IsClosed``, ``IsWon``, ``ForecastCategoryName``, ``LastStageChangeDate``;
Lead ``Status_Changed_Date__c`` (an org flow); and every write stamps ``LastModifiedDate`` and
``SystemModstamp`` with the call's millisecond timestamp.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from connectors.sandbox.salesforce.errors import SfError
from connectors.sandbox.salesforce.schema import OBJECTS, STAGES_BY_NAME, FieldDef, ObjectDef, find_object
from connectors.sandbox.salesforce.store import API_USER_ID, OrgStore, Row
from connectors.sandbox.salesforce.values import parse_datetime

SKIPPED_KEYS = frozenset({"attributes"})


@dataclass
class PreparedWrite:
    """A validated write, not yet applied: ``row`` is the complete new state of the record."""

    object: str
    id: str
    row: Row
    created: bool


def writable_object(name: str) -> ObjectDef:
    obj = find_object(name)
    if obj is None:
        raise SfError(404, "NOT_FOUND", f"The requested resource does not exist: sObject type '{name}'")
    if not obj.writable:
        raise SfError(400, "INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support this operation")
    return obj


def coerce_value(field: FieldDef, value: Any) -> Any:
    """A JSON value as the stored type, or SfError INVALID_TYPE_ON_FIELD_IN_RECORD."""
    if value is None:
        return False if field.type == "boolean" else None
    try:
        return _coerce(field, value)
    except (TypeError, ValueError):
        raise SfError(400, "INVALID_TYPE_ON_FIELD_IN_RECORD",
                      f"{field.name}: value not of required type: {value}", [field.name]) from None


def _coerce(field: FieldDef, value: Any) -> Any:
    category = field.category
    if category == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError
    if category == "number":
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
        if field.type == "int":
            if not number.is_integer():
                raise ValueError
            return int(number)
        return number
    if category == "date":
        return dt.date.fromisoformat(str(value)[:10]) if isinstance(value, str) and len(value) >= 10 else _bad()
    if category == "datetime":
        return parse_datetime(value) if isinstance(value, str) else _bad()
    if isinstance(value, (dict, list)):
        raise ValueError
    return value if isinstance(value, str) else str(value)


def _bad() -> Any:
    raise ValueError


class Dml:
    """The write rules of the org, over one :class:`OrgStore`."""

    def __init__(self, store: OrgStore) -> None:
        self.store = store

    # -- prepare (validate without changing anything) ------------------------------------------------
    def prepare_create(self, object_name: str, data: dict[str, Any], *, fail_message: str | None = None,
                       stamp: dt.datetime, user: str = API_USER_ID) -> PreparedWrite:
        obj = writable_object(object_name)
        values = self._checked_values(obj, data, creating=True)
        row: Row = {f.name: (False if f.type == "boolean" else None) for f in obj.fields}
        if obj.name == "Lead":
            row["Status"] = next(v for v in obj.field("Status").picklist)   # type: ignore[union-attr]
        row.update(values)
        row.update({"Id": self.store.new_id(obj.name), "IsDeleted": False, "CreatedDate": stamp,
                    "CreatedById": user, "OwnerId": row.get("OwnerId") or user})
        self._finish(obj, None, row, values, fail_message, stamp, user)
        return PreparedWrite(obj.name, row["Id"], row, created=True)

    def prepare_update(self, object_name: str, record_id: str, data: dict[str, Any], *,
                       fail_message: str | None = None, stamp: dt.datetime, user: str = API_USER_ID) -> PreparedWrite:
        obj = writable_object(object_name)
        current = self.existing(obj, record_id)
        if obj.name == "Lead" and current.get("IsConverted"):
            raise SfError(400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", [])
        values = self._checked_values(obj, data, creating=False)
        row = {**current, **values}
        self._finish(obj, current, row, values, fail_message, stamp, user)
        return PreparedWrite(obj.name, current["Id"], row, created=False)

    def existing(self, obj: ObjectDef, record_id: str) -> Row:
        row = self.store.get(obj.name, record_id) if record_id else None
        if row is None and len(record_id or "") == 15:
            row = next((r for key, r in self.store.records[obj.name].items() if key[:15] == record_id), None)
        if row is None:
            if not record_id or not record_id.startswith(obj.key_prefix) or len(record_id) not in (15, 18):
                raise SfError(400, "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {record_id}", ["Id"])
            raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
        if row.get("IsDeleted"):
            raise SfError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
        return row

    def _checked_values(self, obj: ObjectDef, data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, raw in data.items():
            if key in SKIPPED_KEYS or (not creating and key.lower() == "id"):
                continue
            field = obj.field(key)
            if field is None:
                raise SfError(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}", [key])
            if not (field.createable if creating else field.updateable):
                raise SfError(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                              f"Unable to create/update fields: {field.name}. Please check the security settings "
                              "of this field and verify that it is read/write for your profile or permission set.",
                              [field.name])
            value = coerce_value(field, raw)
            if field.restricted and (value is None and field.required or value is not None and value not in field.picklist):
                raise SfError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                              f"{field.label or field.name}: bad value for restricted picklist field: {value}",
                              [field.name])
            values[field.name] = value
        return values

    def _finish(self, obj: ObjectDef, before: Row | None, row: Row, values: dict[str, Any],
                fail_message: str | None, stamp: dt.datetime, user: str) -> None:
        self._check_references(obj, row, values)
        if obj.name == "Lead" and values.get("Status") == "Converted" and not (before or {}).get("IsConverted"):
            raise SfError(400, "FIELD_INTEGRITY_EXCEPTION", "Converted is a converted lead status: leads are "
                          "converted with convertLead, not by setting Status", ["Status"])
        missing = [f.name for f in obj.fields if f.required and row.get(f.name) in (None, "")]
        if missing:
            raise SfError(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
        if obj.name in ("Lead", "Contact"):
            row["Name"] = full_name(row)
        if obj.name == "Opportunity":
            _derive_opportunity(before, row, values, stamp)
        if obj.name == "Lead" and before is not None and values.get("Status", before["Status"]) != before["Status"] \
                and "Status_Changed_Date__c" not in values:
            row["Status_Changed_Date__c"] = stamp.date()
        if fail_message:
            raise SfError(400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", fail_message, [])
        row.update({"LastModifiedDate": stamp, "SystemModstamp": stamp, "LastModifiedById": user})

    def _check_references(self, obj: ObjectDef, row: Row, values: dict[str, Any]) -> None:
        for name, value in values.items():
            field = obj.field(name)
            if field and field.type == "reference" and field.reference_to in OBJECTS and value \
                    and self.store.lookup(field.reference_to, value) is None:
                raise SfError(400, "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {field.name}",
                              [field.name])

    # -- apply -------------------------------------------------------------------------------------
    def commit(self, prepared: PreparedWrite) -> None:
        self.store.put(prepared.object, prepared.row)

    def delete(self, object_name: str, record_id: str, stamp: dt.datetime, user: str = API_USER_ID) -> str:
        obj = writable_object(object_name)
        row = self.existing(obj, record_id)
        row.update({"IsDeleted": True, "SystemModstamp": stamp, "LastModifiedDate": stamp, "LastModifiedById": user})
        return row["Id"]


def full_name(row: Row) -> str:
    """The compound Name of a Lead or Contact."""
    return " ".join(part for part in (row.get("FirstName"), row.get("LastName")) if part)


def _derive_opportunity(before: Row | None, row: Row, values: dict[str, Any], stamp: dt.datetime) -> None:
    stage = STAGES_BY_NAME[row["StageName"]]
    stage_changed = before is None or before.get("StageName") != row["StageName"]
    if stage_changed:
        row["LastStageChangeDate"] = stamp
        if "Probability" not in values:
            row["Probability"] = float(stage.probability)
        if "ForecastCategoryName" not in values:
            row["ForecastCategoryName"] = stage.forecast_category_name
    elif row.get("Probability") is None:
        row["Probability"] = float(stage.probability)
    row["IsClosed"], row["IsWon"] = stage.is_closed, stage.is_won
    probability = row.get("Probability")
    if probability is not None and not 0 <= probability <= 100:
        raise SfError(400, "NUMBER_OUTSIDE_VALID_RANGE", f"Probability: value outside of valid range: {probability}",
                      ["Probability"])
    if row.get("ForecastCategoryName") is None:
        row["ForecastCategoryName"] = stage.forecast_category_name
