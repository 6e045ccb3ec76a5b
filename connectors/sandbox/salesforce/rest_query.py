"""``query`` / ``queryAll`` with server-side cursors and ``nextRecordsUrl`` paging."""
from __future__ import annotations

import re
from typing import Any

from connectors.sandbox.salesforce.errors import SfError, malformed_query
from connectors.sandbox.salesforce.http import Call
from connectors.sandbox.salesforce.soql_eval import Evaluator
from connectors.sandbox.salesforce.soql_parser import parse
from connectors.sandbox.salesforce.store import Cursor, OrgStore

DEFAULT_BATCH = 2000
MIN_BATCH, MAX_BATCH = 200, 2000
_BATCH_RE = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)


def batch_size(call: Call) -> int:
    """``Sforce-Query-Options: batchSize=N``, clamped to 200..2000 as Salesforce does; default 2000."""
    match = _BATCH_RE.search(call.request.headers.get("Sforce-Query-Options", ""))
    if not match:
        return DEFAULT_BATCH
    return max(MIN_BATCH, min(MAX_BATCH, int(match.group(1))))


def run_query(store: OrgStore, call: Call, include_deleted: bool) -> dict[str, Any]:
    text = call.request.args.get("q")
    if not text:
        raise malformed_query("A query string (q) is required")
    query = parse(text)
    with store.lock:
        evaluator = Evaluator(query, store.lookup)
        rows = evaluator.run(store.rows(evaluator.object.name, include_deleted))
        if query.count == "COUNT()":
            return {"totalSize": len(rows), "done": True, "records": []}
        if query.count:
            return {"totalSize": 1, "done": True, "records": [
                {"attributes": {"type": "AggregateResult"}, "expr0": len(rows)}]}
        cursor = store.open_cursor(evaluator, [dict(row) for row in rows], include_deleted)
        return page(store, call, cursor, 0)


def query_more(store: OrgStore, call: Call, locator_with_offset: str, include_deleted: bool) -> dict[str, Any]:
    locator, _, offset_text = locator_with_offset.rpartition("-")
    cursor = store.cursor(locator) if locator and offset_text.isdigit() else None
    if cursor is None or cursor.include_deleted != include_deleted:
        raise SfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    with store.lock:
        return page(store, call, cursor, int(offset_text))


def page(store: OrgStore, call: Call, cursor: Cursor, offset: int) -> dict[str, Any]:
    size = batch_size(call)
    chunk = cursor.rows[offset:offset + size]
    records = [cursor.evaluator.render(row, call.version) for row in chunk]
    end = offset + len(chunk)
    done = end >= len(cursor.rows)
    body: dict[str, Any] = {"totalSize": len(cursor.rows), "done": done, "records": records}
    if done:
        store.close_cursor(cursor.locator)
    else:
        resource = "queryAll" if cursor.include_deleted else "query"
        body["nextRecordsUrl"] = f"/services/data/v{call.version}/{resource}/{cursor.locator}-{end}"
    call.records = len(records)
    call.serve(cursor.evaluator.object.name, [row["Id"] for row in chunk if "Id" in row])
    return body
