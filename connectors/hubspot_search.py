"""Reads through HubSpot search by keyset, so records edited during a read are never skipped.

HubSpot search pages by an offset (``after``) into a result list sorted by one property. A read sorted
by the modified date that pages by offset skips records whenever one it already read is modified
meanwhile (Baton's own write-back, a person editing): that record jumps to the end of the sort order,
every later record shifts left and the next offset steps over one unread record per edit. Offsets
also stop at 10,000 results per query.

So no page is an offset into an earlier query. Every page is a fresh query at offset 0 (200 records,
sorted by the modified date ascending) that starts after what was read, by keyset:

- group A: ``modified > last_ms`` (and ``modified <= upper_ms``);
- group B: ``modified == last_ms AND hs_object_id NOT_IN [ids already read at last_ms]``,

where ``last_ms`` is the highest modified date of the previous page. The first page is just
``modified >= lower_ms`` (nothing for a full read) up to ``upper_ms``. HubSpot takes at most
``MAX_NOT_IN`` values in ``NOT_IN``: when more records than that were read at ``last_ms`` (a bulk
import stamps thousands alike), that one timestamp is read by id keyset instead (``modified == t AND
hs_object_id > last_id`` sorted by id, a fresh query per page, skipping the ids already read), then
the read continues with ``modified > t``.

``upper_ms`` fixes the read's end when it starts: records modified during the read move past it and
are left to the next incremental read (whose watermark, the highest (modified, id) read, is <= it),
so the set a read pages through can only shrink, and each record is yielded at most once per read.

Pages come in ascending modified order and every record modified before a page's highest modified
date has been yielded by the end of that page (ties within one millisecond may come in any order).
A read costs ceil(n / 200) calls unless more than ``MAX_NOT_IN`` records share a page's last
timestamp; then the records already read at it are read once more in the id pages.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

MAX_NOT_IN = 100      # HubSpot's limit on the values of one IN / NOT_IN filter

SearchPage = tuple[list[Any], str | None, int]      # (results, paging.next.after or None, total)
RunSearch = Callable[[dict[str, Any]], SearchPage]
ModifiedOf = Callable[[Any], int]                   # a result's modified date as epoch ms
Filter = dict[str, Any]


@dataclass
class _Cursor:
    """What the read has yielded: every match modified before ``last_ms``, and ``read_at_last`` at it."""
    last_ms: int | None = None                       # None: nothing read yet
    read_at_last: set[str] = field(default_factory=set)
    above_id: int | None = None                      # at last_ms only ids above this one are wanted
    last_done: bool = False                          # every match at last_ms has been yielded

    def advance(self, stamps: list[tuple[int, str]]) -> None:
        """Take in one page of (modified ms, id) pairs, sorted by modified date."""
        top = max(ms for ms, _ in stamps)
        at_top = {record_id for ms, record_id in stamps if ms == top}
        if top == self.last_ms:
            self.read_at_last |= at_top
        else:
            self.last_ms, self.read_at_last, self.above_id, self.last_done = top, at_top, None, False


class WindowedSearch:
    """Every record in a modified-date range, one fresh keyset query per page (see the module docstring)."""

    def __init__(self, run: RunSearch, modified_property: str, modified_of: ModifiedOf,
                 properties: list[str], page_size: int = 200, max_not_in: int = MAX_NOT_IN) -> None:
        self.run, self.modified_property, self.modified_of = run, modified_property, modified_of
        self.properties, self.page_size, self.max_not_in = properties, page_size, max_not_in

    def pages(self, lower_ms: int | None, after_id: str | None = None,
              upper_ms: int | None = None) -> Iterator[list[Any]]:
        """Every record with ``lower_ms <= modified <= upper_ms`` (either bound optional), each once.

        With ``after_id`` (and ``lower_ms``) the read starts strictly after the pair (lower_ms, after_id)
        in (modified, hs_object_id) order instead.
        """
        if lower_ms is not None and upper_ms is not None and lower_ms > upper_ms:
            return
        cursor = _Cursor()
        if lower_ms is not None and after_id:
            cursor = _Cursor(lower_ms, above_id=int(after_id))
        while True:
            if cursor.last_ms is not None and not cursor.last_done and len(cursor.read_at_last) > self.max_not_in:
                yield from self._same_timestamp(cursor)
                continue
            results, next_after, _ = self.run(self._body(self._groups(cursor, lower_ms, upper_ms),
                                                         self.modified_property))
            if results:
                cursor.advance([(self.modified_of(r), str(r.id)) for r in results])
                yield results
            if next_after is None:
                return

    def _groups(self, cursor: _Cursor, lower_ms: int | None, upper_ms: int | None) -> list[list[Filter]]:
        upper = [self._filter("LTE", upper_ms)] if upper_ms is not None else []
        if cursor.last_ms is None:
            first = ([self._filter("GTE", lower_ms)] if lower_ms is not None else []) + upper
            return [first] if first else []
        groups = [[self._filter("GT", cursor.last_ms), *upper]]
        if not cursor.last_done:
            # cursor.last_ms <= upper_ms always, so this group needs no upper bound of its own.
            tie = [self._filter("EQ", cursor.last_ms)]
            if cursor.above_id is not None:
                tie.append({"propertyName": "hs_object_id", "operator": "GT", "value": str(cursor.above_id)})
            if cursor.read_at_last:
                tie.append({"propertyName": "hs_object_id", "operator": "NOT_IN",
                            "values": sorted(cursor.read_at_last, key=int)})
            groups.append(tie)
        return groups

    def _same_timestamp(self, cursor: _Cursor) -> Iterator[list[Any]]:
        """The rest of the records at ``cursor.last_ms``, paged by id (too many read there for NOT_IN)."""
        stamp, already = cursor.last_ms, cursor.read_at_last
        last_id = cursor.above_id or 0
        while True:
            groups = [[self._filter("EQ", stamp),
                       {"propertyName": "hs_object_id", "operator": "GT", "value": str(last_id)}]]
            results, next_after, _ = self.run(self._body(groups, "hs_object_id"))
            if results:
                last_id = max(last_id, max(int(r.id) for r in results))
            fresh = [r for r in results if str(r.id) not in already]
            if fresh:
                yield fresh
            if next_after is None:
                break
        cursor.read_at_last, cursor.last_done = set(), True

    def _filter(self, operator: str, stamp_ms: int | None) -> Filter:
        return {"propertyName": self.modified_property, "operator": operator, "value": str(stamp_ms)}

    def _body(self, groups: list[list[Filter]], sort_property: str) -> dict[str, Any]:
        # Always offset 0: an offset into a list that edits reorder is what skipped records.
        return {"filterGroups": [{"filters": g} for g in groups], "properties": self.properties,
                "sorts": [{"propertyName": sort_property, "direction": "ASCENDING"}],
                "limit": self.page_size, "after": "0"}
