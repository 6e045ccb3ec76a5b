"""Which handler serves a REST path, and the endpoint key it is counted and fault-injected under.

Paths are matched on their segments after ``/services/data/vXX.X/``, so the trailing slashes the SDK
sends (``query/``, ``sobjects/Lead/``, ``limits/``) need no special rules.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.wrappers import Response

from connectors.sandbox.salesforce import rest_composite, rest_query, rest_sobjects
from connectors.sandbox.salesforce.dml import Dml
from connectors.sandbox.salesforce.errors import SfError, not_found
from connectors.sandbox.salesforce.http import Call, json_response
from connectors.sandbox.salesforce.store import OrgStore

Handler = Callable[[], Response]


@dataclass
class Route:
    endpoint: str                 # e.g. "PATCH composite/sobjects", "GET query/{locator}"
    handler: Handler
    is_write: bool = False        # a lock fault fails a single-record write as a whole
    is_collection: bool = False   # a lock fault fails the first record of a Collections call


class Router:
    def __init__(self, store: OrgStore, dml: Dml, fail: Callable[[str], str | None]) -> None:
        self.store, self.dml, self.fail = store, dml, fail

    def route(self, call: Call, lock_first: Callable[[], bool]) -> Route:
        method, seg = call.request.method, call.segments
        s = self.store
        if not seg:
            return Route("GET /", lambda: json_response(_resources(call.version)))
        head, count = seg[0], len(seg)
        if head in ("query", "queryAll") and method == "GET":
            deleted = head == "queryAll"
            if count == 1:
                return Route(f"GET {head}", lambda: json_response(rest_query.run_query(s, call, deleted)))
            if count == 2:
                return Route(f"GET {head}/{{locator}}",
                             lambda: json_response(rest_query.query_more(s, call, seg[1], deleted)))
        if head == "limits" and count == 1 and method == "GET":
            return Route("GET limits", lambda: rest_sobjects.limits(s))
        if head == "sobjects":
            return self._sobjects(call, method, seg)
        if seg[:2] == ["composite", "sobjects"]:
            return self._collections(call, method, seg, lock_first)
        raise not_found()

    def _sobjects(self, call: Call, method: str, seg: list[str]) -> Route:
        s, d, fail = self.store, self.dml, self.fail
        count = len(seg)
        if count == 1 and method == "GET":
            return Route("GET sobjects", lambda: rest_sobjects.global_describe(call))
        name = seg[1] if count > 1 else ""
        if count == 2:
            if method == "GET":
                return Route(f"GET sobjects/{name}", lambda: rest_sobjects.object_info(s, call, name))
            if method == "POST":
                return Route(f"POST sobjects/{name}", lambda: rest_sobjects.create(s, d, call, name, fail), True)
        if count == 3 and seg[2] in ("describe", "updated", "deleted") and method == "GET":
            if seg[2] == "describe":
                return Route(f"GET sobjects/{name}/describe", lambda: rest_sobjects.describe(call, name))
            return Route(f"GET sobjects/{name}/{seg[2]}", lambda: rest_sobjects.changed_ids(s, call, name, seg[2]))
        if count == 3:
            rid = seg[2]
            handlers = {"GET": lambda: rest_sobjects.get_record(s, d, call, name, rid),
                        "PATCH": lambda: rest_sobjects.update(s, d, call, name, rid, fail),
                        "DELETE": lambda: rest_sobjects.delete(s, d, call, name, rid)}
            if method in handlers:
                return Route(f"{method} sobjects/{name}/{{id}}", handlers[method], method != "GET")
        if count == 4 and method == "PATCH":
            return Route(f"PATCH sobjects/{name}/{{field}}/{{value}}",
                         lambda: rest_sobjects.upsert(s, d, call, name, seg[2], seg[3], fail), True)
        if count == 4 and method == "GET" and seg[2] != "describe":
            return Route(f"GET sobjects/{name}/{{field}}/{{value}}", lambda: self._by_external_id(call, name, seg))
        raise _method_not_allowed(method) if count in (2, 3) else not_found()

    def _by_external_id(self, call: Call, name: str, seg: list[str]) -> Response:
        obj = rest_sobjects.known_object(name)
        field = obj.field(seg[2])
        if field is None or not field.external_id:
            raise not_found()
        # get_by_custom_id quotes with quote_plus, so a "+" in the path may stand for a space
        candidates = {seg[3], seg[3].replace("+", " ")}
        with self.store.lock:
            matches = [row for row in self.store.rows(obj.name) if row.get(field.name) in candidates]
        if not matches:
            raise not_found()
        if len(matches) > 1:
            return json_response([f"/services/data/v{call.version}/sobjects/{obj.name}/{r['Id']}" for r in matches], 300)
        return rest_sobjects.get_record(self.store, self.dml, call, name, matches[0]["Id"])

    def _collections(self, call: Call, method: str, seg: list[str], lock_first: Callable[[], bool]) -> Route:
        s, d, fail = self.store, self.dml, self.fail
        if len(seg) == 2:
            if method == "POST":
                return Route("POST composite/sobjects", lambda: rest_composite.create(s, d, call, lock_first()),
                             is_collection=True)
            if method == "PATCH":
                return Route("PATCH composite/sobjects",
                             lambda: rest_composite.update(s, d, call, lock_first(), fail), is_collection=True)
            if method == "DELETE":
                return Route("DELETE composite/sobjects", lambda: rest_composite.delete(s, d, call, lock_first()),
                             is_collection=True)
            raise _method_not_allowed(method)
        if len(seg) == 3 and method == "GET":
            return Route(f"GET composite/sobjects/{seg[2]}", lambda: rest_composite.retrieve(s, d, call, seg[2]))
        raise not_found()


def _method_not_allowed(method: str) -> SfError:
    return SfError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed for this resource")


def _resources(version: str) -> dict[str, str]:
    base = f"/services/data/v{version}"
    return {name: f"{base}/{name}" for name in ("sobjects", "query", "queryAll", "limits", "composite")}
