"""In-memory org state: records per object, query cursors and the daily API counter, behind one lock.

Rows are stored with typed Python values (``datetime`` in UTC with ms precision, ``date``, ``float``,
``bool``, ``str``); the SOQL evaluator compares them and ``soql_eval.wire_value`` renders them.
Deleted rows stay (``IsDeleted = true``) so ``queryAll`` and the ``deleted`` resource still see them.
"""
from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.salesforce.schema import OBJECTS
from connectors.sandbox.salesforce.soql_eval import Evaluator
from connectors.sandbox.salesforce.values import ModstampClock, make_id

Row = dict[str, Any]
API_USER_ID = "0055g00000BATONAPI"
OTHER_USER_ID = "0055g00000ANOTHERU"
MAX_OPEN_CURSORS = 200


@dataclass
class Cursor:
    """A server-side query cursor: the matched rows, copied when the query ran (as a real locator is)."""

    locator: str
    evaluator: Evaluator
    rows: list[Row]
    include_deleted: bool
    served_ids: set[str] = field(default_factory=set)


class OrgStore:
    def __init__(self, daily_api_limit: int = 100_000) -> None:
        self.lock = threading.RLock()
        self.records: dict[str, dict[str, Row]] = {name: {} for name in OBJECTS}
        self._next_number: dict[str, int] = {name: 1 for name in OBJECTS}
        self.clock = ModstampClock()
        self.cursors: OrderedDict[str, Cursor] = OrderedDict()
        self.api_used = 0
        self.api_max = daily_api_limit

    # -- ids and rows ------------------------------------------------------------------------------
    def new_id(self, object_name: str) -> str:
        with self.lock:
            number = self._next_number[object_name]
            self._next_number[object_name] = number + 1
            return make_id(OBJECTS[object_name].key_prefix, number)

    def put(self, object_name: str, row: Row) -> None:
        with self.lock:
            self.records[object_name][row["Id"]] = row

    def get(self, object_name: str, record_id: str) -> Row | None:
        return self.records.get(object_name, {}).get(record_id)

    def lookup(self, object_name: str, record_id: str) -> Row | None:
        """A live (not deleted) row, for relationship fields; accepts 15-char ids too."""
        rows = self.records.get(object_name, {})
        row = rows.get(record_id) or (next((r for key, r in rows.items() if key[:15] == record_id), None)
                                      if len(record_id) == 15 else None)
        return row if row is not None and not row.get("IsDeleted") else None

    def rows(self, object_name: str, include_deleted: bool = False) -> Iterator[Row]:
        for row in self.records[object_name].values():
            if include_deleted or not row.get("IsDeleted"):
                yield row

    # -- cursors -----------------------------------------------------------------------------------
    def open_cursor(self, evaluator: Evaluator, rows: list[Row], include_deleted: bool) -> Cursor:
        with self.lock:
            locator = "01g5g" + secrets.token_hex(7).upper()[:13]
            cursor = Cursor(locator, evaluator, rows, include_deleted)
            self.cursors[locator] = cursor
            while len(self.cursors) > MAX_OPEN_CURSORS:     # the oldest locators expire, as in a real org
                self.cursors.popitem(last=False)
            return cursor

    def cursor(self, locator: str) -> Cursor | None:
        with self.lock:
            return self.cursors.get(locator)

    def close_cursor(self, locator: str) -> None:
        with self.lock:
            self.cursors.pop(locator, None)

    # -- the daily API limit -------------------------------------------------------------------------
    def count_api_call(self) -> bool:
        """Count one API request; False when the daily limit is already used up."""
        with self.lock:
            if self.api_used >= self.api_max:
                return False
            self.api_used += 1
            return True

    def limit_info(self) -> str:
        return f"api-usage={self.api_used}/{self.api_max}"
