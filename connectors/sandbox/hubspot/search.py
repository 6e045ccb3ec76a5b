"""CRM search (``POST /crm/v3/objects/{type}/search``): filter groups, operators, one sort, paging.

Filter groups are ORed, filters inside a group ANDed (at most 5 groups of 6 filters). ``limit`` is at
most 200 and ``after`` is an offset; a request whose ``after + limit`` passes 10,000 gets HubSpot's
400, whatever ``total`` says. Ties in the sort order come out in ``hs_object_id`` order.

The matches of a query are cached per store version, so a client paging through one query does not
make the sandbox filter the whole table on every page; searches whose first filter group bounds the
modified date start from a bisect of the table's (modified, id) index.
"""
from __future__ import annotations

import bisect
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connectors.sandbox.hubspot.errors import HubSpotApiError, bad_request
from connectors.sandbox.hubspot.properties import DEFINITIONS, MODIFIED_PROPERTY
from connectors.sandbox.hubspot.store import PortalStore, StoredRecord
from connectors.sandbox.hubspot.timeutil import parse_ms

MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_LIMIT, RESULT_CAP = 5, 6, 200, 10_000
OPERATORS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY",
             "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
SEARCHABLE_TEXT = {"contacts": ("email", "firstname", "lastname", "company"), "companies": ("name", "domain"),
                   "deals": ("dealname",)}

Value = float | int | str | None


@dataclass(frozen=True)
class SearchRequest:
    filter_groups: list[list[dict[str, Any]]]
    sort_property: str
    descending: bool
    query: str
    properties: list[str] | None
    limit: int
    after: int

    def cache_key(self, object_type: str) -> str:
        return json.dumps([object_type, self.filter_groups, self.sort_property, self.descending, self.query],
                          sort_keys=True)


def parse_request(body: dict[str, Any]) -> SearchRequest:
    groups = [list(g.get("filters") or []) for g in body.get("filterGroups") or []]
    if len(groups) > MAX_GROUPS or any(len(g) > MAX_FILTERS_PER_GROUP for g in groups):
        raise bad_request(f"Too many filters: at most {MAX_GROUPS} filterGroups of {MAX_FILTERS_PER_GROUP} filters")
    for group in groups:
        for item in group:
            if item.get("operator") not in OPERATORS or not item.get("propertyName"):
                raise bad_request(f"Invalid filter: {json.dumps(item)}")
    sorts = body.get("sorts") or []
    if len(sorts) > 1:
        raise bad_request("Only one sort is supported per search request")
    sort_property, descending = "hs_object_id", False
    if sorts:
        sort = sorts[0]
        if isinstance(sort, str):   # the SDK types sorts as list[str]: accept "prop" and "-prop"
            sort_property, descending = sort.lstrip("-"), sort.startswith("-")
        else:
            sort_property = sort.get("propertyName", "hs_object_id")
            descending = str(sort.get("direction", "ASCENDING")).upper() == "DESCENDING"
    limit, after = int(body.get("limit") or 10), int(body.get("after") or 0)
    if limit < 1 or limit > MAX_LIMIT:
        raise bad_request(f"limit must be between 1 and {MAX_LIMIT}")
    if after + limit > RESULT_CAP:
        # HubSpot's answer to paging past the 10,000-result cap (the body carries no more detail).
        raise HubSpotApiError(400, "VALIDATION_ERROR", "There was a problem with the request.")
    return SearchRequest(groups, sort_property, descending, str(body.get("query") or ""), body.get("properties"),
                         limit, after)


def _value_of(object_type: str, name: str) -> Callable[[StoredRecord], Value]:
    """A getter of a record's comparable value for one property (numbers, epoch ms, lower-case text)."""
    if name == "hs_object_id":
        return lambda r: r.id
    if name == MODIFIED_PROPERTY[object_type]:
        return lambda r: r.modified_ms
    if name == "createdate":
        return lambda r: r.created_ms
    return lambda r: _comparable(object_type, name, r.properties.get(name))


def _comparable(object_type: str, name: str, raw: str | None) -> Value:
    if raw is None or raw == "":
        return None
    defn = DEFINITIONS[object_type].get(name)
    kind = defn.type if defn else "string"
    try:
        if kind == "number" or name == "hs_object_id":
            return float(raw)
        if kind in ("date", "datetime"):
            return parse_ms(raw)
    except ValueError:
        return None
    return raw.lower()


def _filter_predicate(object_type: str, item: dict[str, Any]) -> Callable[[StoredRecord], bool]:
    name, op = item["propertyName"], item["operator"]
    get = _value_of(object_type, name)
    conv = (lambda v: _comparable(object_type, name, None if v is None else str(v)))
    if op == "HAS_PROPERTY":
        return lambda r: get(r) is not None
    if op == "NOT_HAS_PROPERTY":
        return lambda r: get(r) is None
    if op in ("IN", "NOT_IN"):
        wanted = {conv(v) for v in item.get("values") or []}
        return (lambda r: get(r) in wanted) if op == "IN" else (lambda r: get(r) not in wanted)
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token = str(item.get("value", "")).lower().strip("*")
        def contains(r: StoredRecord) -> bool:
            text = str(r.properties.get(name) or "").lower()
            return token in text.replace("@", " ").replace(".", " ").split() or token in text
        return contains if op == "CONTAINS_TOKEN" else (lambda r: not contains(r))
    value = conv(item.get("value"))
    if op == "BETWEEN":
        high = conv(item.get("highValue"))
        return lambda r: (v := get(r)) is not None and value <= v <= high  # type: ignore[operator]
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "EQ": lambda a, b: a == b, "NEQ": lambda a, b: a != b, "LT": lambda a, b: a < b,
        "LTE": lambda a, b: a <= b, "GT": lambda a, b: a > b, "GTE": lambda a, b: a >= b}
    test = compare[op]
    if op == "NEQ":
        return lambda r: test(get(r), value)
    return lambda r: (v := get(r)) is not None and value is not None and test(v, value)


def _lower_bound(object_type: str, groups: list[list[dict[str, Any]]]) -> int | None:
    """The smallest modified ms any match can have, when every group bounds the modified date from below."""
    modified = MODIFIED_PROPERTY[object_type]
    bounds: list[int] = []
    for group in groups:
        group_bound = None
        for item in group:
            if item["propertyName"] == modified and item["operator"] in ("GT", "GTE", "EQ", "BETWEEN"):
                try:
                    group_bound = max(group_bound or 0, parse_ms(str(item.get("value"))))
                except ValueError:
                    return None
        if group_bound is None:
            return None
        bounds.append(group_bound)
    return min(bounds) if bounds else None


class SearchEngine:
    """Runs searches against a store, caching each query's ordered matches per store version."""

    def __init__(self, store: PortalStore, cache_size: int = 16) -> None:
        self.store = store
        self._cache: OrderedDict[str, tuple[int, list[StoredRecord]]] = OrderedDict()
        self._cache_size = cache_size

    def search(self, object_type: str, request: SearchRequest) -> tuple[int, list[StoredRecord]]:
        """(total, the requested page of records)."""
        matches = self._matches(object_type, request)
        return len(matches), matches[request.after:request.after + request.limit]

    def _matches(self, object_type: str, request: SearchRequest) -> list[StoredRecord]:
        key = request.cache_key(object_type)
        with self.store.lock:
            version = self.store.version
            cached = self._cache.get(key)
            if cached and cached[0] == version:
                return cached[1]
            matches = self._compute(object_type, request)
            self._cache[key] = (version, matches)
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return matches

    def _compute(self, object_type: str, request: SearchRequest) -> list[StoredRecord]:
        table = self.store.tables[object_type]
        groups = [[_filter_predicate(object_type, f) for f in g] for g in request.filter_groups]
        start = _lower_bound(object_type, request.filter_groups)
        index = table.by_modified[bisect.bisect_left(table.by_modified, (start, -1)):] if start else table.by_modified
        text = request.query.lower()
        searchable = SEARCHABLE_TEXT[object_type]
        matches: list[StoredRecord] = []
        for _, record_id in index:
            record = table.records[record_id]
            if groups and not any(all(p(record) for p in g) for g in groups):
                continue
            if text and not any(text in (record.properties.get(n) or "").lower() for n in searchable):
                continue
            matches.append(record)
        return self._sorted(object_type, request, matches)

    @staticmethod
    def _sorted(object_type: str, request: SearchRequest, matches: list[StoredRecord]) -> list[StoredRecord]:
        if request.sort_property == MODIFIED_PROPERTY[object_type] and not request.descending:
            return matches   # already in (modified, id) order from the index
        get = _value_of(object_type, request.sort_property)
        present = [r for r in matches if get(r) is not None]
        missing = [r for r in matches if get(r) is None]
        present.sort(key=lambda r: r.id)
        present.sort(key=get, reverse=request.descending)  # type: ignore[arg-type]  # stable: ties in id order
        return present + sorted(missing, key=lambda r: r.id)
