"""Incremental reads through HubSpot search, past the 10,000-result cap.

HubSpot search sorts by one property and refuses to page past 10,000 results of one query, so a read
is split into windows:

1. Search ``modified >= lower`` sorted ascending and page (200 per call) until the results end, or
   until the next page would pass the cap.
2. At the cap, restart with ``lower`` = the last modified timestamp seen. The records already read at
   that exact timestamp are remembered and skipped client-side (tie order is not guaranteed by
   HubSpot, so the skip set is by id, not "id greater than"); they cost a few re-read records per window.
3. If a whole window shares one timestamp (more than 10,000 records edited in the same millisecond,
   e.g. a bulk import), switch to ``modified == t AND hs_object_id > last`` sorted by ``hs_object_id``,
   windowed the same way (starting after the ids already read when one count query shows they are a
   prefix in id order), then continue with ``modified > t``.

Every record is yielded exactly once per read, in (modified, id) order.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

RESULT_CAP = 10_000

SearchPage = tuple[list[Any], str | None, int]      # (results, paging.next.after or None, total)
RunSearch = Callable[[dict[str, Any]], SearchPage]
ModifiedOf = Callable[[Any], int]                   # a result's modified date as epoch ms


@dataclass
class _Window:
    lower_ms: int | None
    inclusive: bool = True
    skip: set[str] = field(default_factory=set)      # ids already yielded at exactly lower_ms
    after_id: str | None = None                      # resume strictly after (lower_ms, after_id)


class WindowedSearch:
    def __init__(self, run: RunSearch, modified_property: str, modified_of: ModifiedOf,
                 properties: list[str], page_size: int = 200) -> None:
        self.run, self.modified_property, self.modified_of = run, modified_property, modified_of
        self.properties, self.page_size = properties, page_size

    def pages(self, lower_ms: int | None, after_id: str | None = None) -> Iterator[list[Any]]:
        """Every record with modified >= lower_ms (or, with ``after_id``, strictly after the pair
        (lower_ms, after_id) in (modified, hs_object_id) order)."""
        window = _Window(lower_ms, after_id=after_id if lower_ms is not None else None)
        while True:
            seen_at_last: set[str] = set()
            last_ms: int | None = None
            capped = False
            for results, capped in self._window_pages(self._by_modified(window)):
                fresh = [r for r in results if not (r.id in window.skip and self.modified_of(r) == window.lower_ms)]
                for record in results:
                    ms = self.modified_of(record)
                    if ms != last_ms:
                        last_ms, seen_at_last = ms, set()
                    seen_at_last.add(record.id)
                if fresh:
                    yield fresh
            if not capped or last_ms is None:
                return
            if last_ms == window.lower_ms:           # a whole window at one timestamp: page by id
                yield from self._same_timestamp(last_ms, window.skip | seen_at_last, int(window.after_id or 0))
                window = _Window(last_ms, inclusive=False)
            else:
                window = _Window(last_ms, skip=seen_at_last)

    def _window_pages(self, base: dict[str, Any]) -> Iterator[tuple[list[Any], bool]]:
        """Pages of one query; the flag says the cap stopped it while more results remained."""
        after = 0
        while True:
            results, next_after, _ = self.run({**base, "limit": self.page_size, "after": str(after)})
            if next_after is None:
                yield results, False
                return
            after = int(next_after)
            capped = after + self.page_size > RESULT_CAP
            yield results, capped
            if capped:
                return

    def _by_modified(self, window: _Window) -> dict[str, Any]:
        groups: list[dict[str, Any]] = []
        if window.lower_ms is not None and window.after_id:
            groups = [{"filters": [{"propertyName": self.modified_property, "operator": "GT",
                                    "value": str(window.lower_ms)}]},
                      {"filters": [{"propertyName": self.modified_property, "operator": "EQ",
                                    "value": str(window.lower_ms)},
                                   {"propertyName": "hs_object_id", "operator": "GT", "value": window.after_id}]}]
        elif window.lower_ms is not None:
            operator = "GTE" if window.inclusive else "GT"
            groups = [{"filters": [{"propertyName": self.modified_property, "operator": operator,
                                    "value": str(window.lower_ms)}]}]
        return {"filterGroups": groups, "properties": self.properties,
                "sorts": [{"propertyName": self.modified_property, "direction": "ASCENDING"}]}

    def _known_prefix(self, stamp_ms: int, already: set[str]) -> int:
        """The highest id below which every record at ``stamp_ms`` was already read, or 0.

        HubSpot does not promise ties in id order; one count query checks whether the ids read so far
        are all the ids up to their maximum, which saves re-reading up to 10,000 records by id.
        """
        if not already:
            return 0
        top = max(int(i) for i in already)
        _, _, total = self.run({"filterGroups": [{"filters": [
            {"propertyName": self.modified_property, "operator": "EQ", "value": str(stamp_ms)},
            {"propertyName": "hs_object_id", "operator": "LTE", "value": str(top)}]}],
            "properties": ["hs_object_id"], "limit": 1, "after": "0"})
        return top if total == len(already) else 0

    def _same_timestamp(self, stamp_ms: int, already: set[str], start_id: int = 0) -> Iterator[list[Any]]:
        """Every record modified at exactly ``stamp_ms`` with an id above ``start_id``, by id, skipping ``already``."""
        last_id = max(start_id, self._known_prefix(stamp_ms, already))
        while True:
            base = {"filterGroups": [{"filters": [
                        {"propertyName": self.modified_property, "operator": "EQ", "value": str(stamp_ms)},
                        {"propertyName": "hs_object_id", "operator": "GT", "value": str(last_id)}]}],
                    "properties": self.properties,
                    "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]}
            capped = False
            for results, capped in self._window_pages(base):
                fresh = [r for r in results if r.id not in already]
                if results:
                    last_id = max(last_id, max(int(r.id) for r in results))
                if fresh:
                    yield fresh
            if not capped:
                return
