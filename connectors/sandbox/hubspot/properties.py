"""Property definitions of the sandbox portal (``/crm/v3/properties/{objectType}``) and value rules.

Each property has a HubSpot type (string, number, bool, date, datetime, enumeration); writes are
validated and normalised here: enumeration options, midnight-only dates, numbers, read-only
properties and unknown properties, each failing with HubSpot's error code. The forward-only
``lifecyclestage`` rule lives here too.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.hubspot.errors import PropertyProblem
from connectors.sandbox.hubspot.pipelines import DEFAULT_STAGES, PIPELINES
from connectors.sandbox.hubspot.timeutil import iso_ms, parse_ms

OBJECT_TYPES = ("contacts", "companies", "deals")

LIFECYCLE_ORDER = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
                   "customer", "evangelist")
LIFECYCLE_ANYWHERE = "other"   # may be set from, and left for, any stage
LEAD_STATUSES = ("NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT", "CONNECTED",
                 "BAD_TIMING")
SEGMENTS = ("smb", "enterprise")

FIELD_TYPES = {"string": "text", "number": "number", "bool": "booleancheckbox", "date": "date",
               "datetime": "date", "enumeration": "select"}


@dataclass(frozen=True)
class PropertyDef:
    name: str
    type: str                                  # string | number | bool | date | datetime | enumeration
    label: str = ""
    options: tuple[str, ...] = ()
    read_only: bool = False
    external_options: bool = False             # dealstage: options live in the pipeline config
    hubspot_defined: bool = True
    group: str = "baton"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self, order: int) -> dict[str, Any]:
        options = [{"label": o.replace("_", " ").title(), "value": o, "displayOrder": i, "hidden": False,
                    "description": ""} for i, o in enumerate(self.options)]
        if self.type == "bool":
            options = [{"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False, "description": ""},
                       {"label": "No", "value": "false", "displayOrder": 1, "hidden": False, "description": ""}]
        return {"name": self.name, "label": self.label or self.name.replace("_", " ").title(), "type": self.type,
                "fieldType": FIELD_TYPES[self.type], "groupName": self.group, "description": "",
                "options": [] if self.external_options else options, "displayOrder": order,
                "calculated": self.read_only, "externalOptions": self.external_options,
                "hubspotDefined": self.hubspot_defined, "hasUniqueValue": self.name == "hs_object_id",
                "hidden": False, "formField": not self.read_only, "archived": False,
                "createdAt": "2020-01-01T00:00:00Z", "updatedAt": "2020-01-01T00:00:00Z",
                "modificationMetadata": {"archivable": not self.hubspot_defined, "readOnlyDefinition":
                                         self.hubspot_defined, "readOnlyValue": self.read_only}}


def _p(name: str, type_: str, *options: str, read_only: bool = False, custom: bool = False,
       external: bool = False) -> PropertyDef:
    return PropertyDef(name, type_, options=options, read_only=read_only, hubspot_defined=not custom,
                       external_options=external, group="baton" if custom else "information")


_COMMON = (_p("hs_object_id", "number", read_only=True), _p("createdate", "datetime", read_only=True))
_BOOL_CUSTOM = ("seminar_attended", "catalogue_requested", "inquiry_submitted", "no_response")
_DEAL_CRITERIA = ("budget_confirmed", "authority_confirmed", "need_confirmed", "timeline_confirmed", "solution_fit",
                  "champion_agreed", "differentiation_established", "approval_process_started",
                  "close_plan_complete")

DEFINITIONS: dict[str, dict[str, PropertyDef]] = {
    "contacts": {p.name: p for p in (
        *_COMMON, _p("lastmodifieddate", "datetime", read_only=True),
        _p("email", "string"), _p("firstname", "string"), _p("lastname", "string"), _p("jobtitle", "string"),
        _p("company", "string"), _p("industry", "string"), _p("numemployees", "number"), _p("country", "string"),
        _p("lifecyclestage", "enumeration", *LIFECYCLE_ORDER, LIFECYCLE_ANYWHERE),
        _p("hs_lead_status", "enumeration", *LEAD_STATUSES), _p("hubspotscore", "number", read_only=True),
        _p("baton_score", "number", custom=True), _p("email_clicks", "number", custom=True),
        _p("web_visits", "number", custom=True), _p("product_page_visits", "number", custom=True),
        *(_p(name, "bool", custom=True) for name in _BOOL_CUSTOM),
        _p("last_activity_date", "date", custom=True), _p("stage_changed_date", "date", custom=True),
        _p("baton_recycle_count", "number", custom=True), _p("baton_recycle_reason", "string", custom=True),
        _p("segment", "enumeration", *SEGMENTS, custom=True), _p("disqualified_reason", "string", custom=True),
    )},
    "companies": {p.name: p for p in (
        *_COMMON, _p("hs_lastmodifieddate", "datetime", read_only=True),
        _p("name", "string"), _p("domain", "string"), _p("industry", "string"), _p("country", "string"),
        _p("numberofemployees", "number"), _p("annualrevenue", "number"),
        _p("lifecyclestage", "enumeration", *LIFECYCLE_ORDER, LIFECYCLE_ANYWHERE),
        _p("segment", "enumeration", *SEGMENTS, custom=True),
    )},
    "deals": {p.name: p for p in (
        *_COMMON, _p("hs_lastmodifieddate", "datetime", read_only=True),
        _p("dealname", "string"), _p("amount", "number"), _p("closedate", "datetime"),
        _p("pipeline", "enumeration", *PIPELINES), _p("dealstage", "enumeration", external=True),
        _p("hs_is_closed", "bool", read_only=True), _p("hs_is_closed_won", "bool", read_only=True),
        _p("hs_deal_stage_probability", "number", read_only=True),
        _p("hs_v2_date_entered_current_stage", "datetime", read_only=True),
        _p("closed_lost_reason", "string"),
        *(_p(name, "bool", custom=True) for name in _DEAL_CRITERIA),
        _p("gate_violation", "string", custom=True), _p("segment", "enumeration", *SEGMENTS, custom=True),
        _p("last_activity_date", "date", custom=True), _p("baton_recycle_count", "number", custom=True),
    )},
}
MODIFIED_PROPERTY = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate",
                     "deals": "hs_lastmodifieddate"}
# What a read returns when the client names no properties (the real API's defaults, roughly).
DEFAULT_PROPERTIES = {
    "contacts": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "deals": ("amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate", "hs_object_id",
              "pipeline"),
}
ALWAYS_RETURNED = {t: ("hs_object_id", "createdate", MODIFIED_PROPERTY[t]) for t in OBJECT_TYPES}
_ = DEFAULT_STAGES  # dealstage options are external: validated against pipelines.PIPELINES


def _number(value: str) -> str:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


def normalise(defn: PropertyDef, value: Any) -> str | None:
    """The stored form of a written value; raises PropertyProblem-carrying ValueError when invalid."""
    if value is None or value == "":
        return None
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    try:
        if defn.type == "number":
            return _number(text)
        if defn.type == "bool":
            if text.lower() not in ("true", "false"):
                raise _problem(defn, "INVALID_OPTION", f"{text} was not one of the allowed options: [true, false]")
            return text.lower()
        if defn.type == "enumeration" and not defn.external_options and text not in defn.options:
            raise _problem(defn, "INVALID_OPTION",
                           f"{text} was not one of the allowed options: [{', '.join(defn.options)}]")
        if defn.type == "date":
            return _date(defn, text)
        if defn.type == "datetime":
            return iso_ms(parse_ms(text))
    except ProblemError:
        raise
    except (TypeError, ValueError):
        code = "INVALID_LONG" if defn.type == "number" else "INVALID_DATE"
        raise _problem(defn, code, f"{text} is not a valid {defn.type} value for {defn.name}") from None
    return text


def _date(defn: PropertyDef, text: str) -> str:
    epoch_ms = parse_ms(text)
    if epoch_ms % 86_400_000:
        moment = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC)
        raise _problem(defn, "INVALID_DATE", f"{text} is at {moment.strftime('%H:%M:%S')}."
                                             f"{epoch_ms % 1000:03d} UTC, not midnight!")
    return dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC).date().isoformat()


class ProblemError(ValueError):
    def __init__(self, problem: PropertyProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _problem(defn: PropertyDef, code: str, message: str) -> ProblemError:
    return ProblemError(PropertyProblem(defn.name, code, message))


def check_writable(object_type: str, name: str) -> PropertyDef:
    """The definition of a property a client may write; raises ProblemError otherwise."""
    defn = DEFINITIONS[object_type].get(name)
    if defn is None:
        raise ProblemError(PropertyProblem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
    if defn.read_only:
        raise ProblemError(PropertyProblem(name, "READ_ONLY_VALUE",
                                           f"{name} is a read only property; its value cannot be set."))
    return defn


def lifecycle_allows(current: str | None, new: str | None) -> bool:
    """HubSpot's forward-only rule: a move to an earlier stage is ignored (clear with "" first)."""
    if new is None or not current or new == current:
        return True
    if LIFECYCLE_ANYWHERE in (current, new):
        return True
    if current not in LIFECYCLE_ORDER or new not in LIFECYCLE_ORDER:
        return True
    return LIFECYCLE_ORDER.index(new) > LIFECYCLE_ORDER.index(current)
