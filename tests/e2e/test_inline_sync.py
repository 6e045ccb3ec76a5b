"""``baton sync`` without workers (``run_inline``: read a page, decide, write it back, read the next
page) over real HTTP, on a first full sync of 3,000 leads per CRM: every record must be read and
decided once, although Baton's own writes between two pages change the modification dates the
HubSpot read is ordered by. The size is the point (fifteen HubSpot search pages of 200): with one
or a few pages the defect this guards against cannot show."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.pipeline.runner import RunSummary, run_inline
from tests.e2e.support import Loop, running_loop

OBJECTS = [("salesforce", "Lead"), ("salesforce", "Opportunity"), ("hubspot", "contacts"), ("hubspot", "deals")]


@dataclass
class InlineSync:
    loop: Loop
    summary: RunSummary
    in_crm: dict[tuple[str, str], set[str]]


@pytest.fixture(scope="module")
def inline(store_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InlineSync]:
    directory = Path(tmp_path_factory.mktemp(f"inline-{store_kind}"))
    with running_loop(directory, store_kind, records=3000, workers=0) as loop:
        summary = run_inline(loop.ctx, OBJECTS, full=True)
        yield InlineSync(loop, summary, {key: set(loop.admin(key[0]).records(key[1])) for key in OBJECTS})


@pytest.mark.parametrize("crm,object_name", OBJECTS)
def test_full_sync_reads_every_record(inline: InlineSync, crm: str, object_name: str) -> None:
    stored = {s.id for page in inline.loop.ctx.store.iter_snapshots(crm=crm, object=object_name) for s in page}
    missing = inline.in_crm[(crm, object_name)] - stored
    assert not missing, (f"{len(missing)} of {len(inline.in_crm[(crm, object_name)])} {crm} {object_name} never "
                         f"read by the full sync (e.g. {sorted(missing)[:5]})")


def test_each_record_is_evaluated_once(inline: InlineSync) -> None:
    total = sum(len(ids) for ids in inline.in_crm.values())
    assert inline.summary.counts["evaluated"] == total, \
        f"{inline.summary.counts['evaluated']} evaluations for {total} records: some read twice, some never"
