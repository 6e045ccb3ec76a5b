"""Record snapshots: typed round trips, upsert rules, reads by id, by kind, counts, scale."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from app.store import Store
from app.store.sqlite_fast import sqlite_datetime
from connectors.records import Crm, RecordKind, Watermark
from tests.store.conftest import T0, make_record


def test_round_trip_keeps_types_and_raw_values(store: Store, ns: str) -> None:
    record = make_record(
        ns,
        1,
        close_date=date(2024, 6, 30),
        probability=Decimal("0.25"),
        nested={"a": [1, "two", None]},
        when=datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    )
    assert store.upsert_records([record]) == 1

    snapshot = store.get_snapshots("salesforce", ns, [record.id])[record.id]

    assert snapshot.to_record() == record
    assert isinstance(snapshot.fields["close_date"], date)
    assert snapshot.fields["amount"] == Decimal("1250.50")
    assert snapshot.modified_at == record.modified_at and snapshot.modified_at.tzinfo is not None
    assert snapshot.first_seen == snapshot.last_seen


def test_upsert_updates_but_keeps_first_seen(store: Store, ns: str) -> None:
    first_seen = T0 + timedelta(days=1)
    store.upsert_records([make_record(ns, 1)], seen_at=first_seen)
    later = make_record(ns, 1, modified_at=T0 + timedelta(hours=5), stage="qualified")

    store.upsert_records([later], seen_at=first_seen + timedelta(hours=1))

    snapshot = store.get_snapshots("salesforce", ns, [later.id])[later.id]
    assert snapshot.fields["stage"] == "qualified"
    assert snapshot.first_seen == first_seen
    assert snapshot.last_seen == first_seen + timedelta(hours=1)


def test_an_older_read_does_not_roll_a_snapshot_back(store: Store, ns: str) -> None:
    store.upsert_records([make_record(ns, 1, modified_at=T0 + timedelta(hours=2), stage="qualified")])

    store.upsert_records([make_record(ns, 1, modified_at=T0, stage="nurturing")])

    assert (
        store.get_snapshots("salesforce", ns, ["00Q000000000000001"])["00Q000000000000001"].fields["stage"]
        == "qualified"
    )


def test_duplicate_ids_in_one_page_keep_the_last(store: Store, ns: str) -> None:
    page = [make_record(ns, 1, stage="nurturing"), make_record(ns, 1, stage="accepted")]

    assert store.upsert_records(page) == 1

    assert store.get_snapshots("salesforce", ns, [page[0].id])[page[0].id].fields["stage"] == "accepted"


def test_get_by_ids_omits_unknown_ids_and_spans_chunks(store: Store, ns: str) -> None:
    records = [make_record(ns, i) for i in range(1200)]
    store.upsert_records(records)
    wanted = [r.id for r in records[::2]] + ["00Qdoesnotexist000"]

    found = store.get_snapshots("salesforce", ns, wanted)

    assert set(found) == {r.id for r in records[::2]}


def test_iterate_a_kind_in_pages_and_count(store: Store, ns: str) -> None:
    store.upsert_records([make_record(ns, i) for i in range(25)])
    store.upsert_records([make_record(ns, 100 + i, kind=RecordKind.OPPORTUNITY) for i in range(3)])
    store.upsert_records([make_record(ns, 200, crm=Crm.HUBSPOT)])

    pages = list(store.iter_snapshots("lead", crm="salesforce", object=ns, batch_size=10))

    assert [len(page) for page in pages] == [10, 10, 5]
    ids = [s.id for page in pages for s in page]
    assert ids == sorted(ids) and len(set(ids)) == 25
    assert store.count_snapshots("lead", crm="salesforce", object=ns) == 25
    assert store.count_snapshots("opportunity", object=ns) == 3
    assert store.count_snapshots(object=ns) == 29


def test_deleted_records_are_left_out_unless_asked_for(store: Store, ns: str) -> None:
    store.upsert_records([make_record(ns, i) for i in range(5)])
    store.upsert_records([make_record(ns, 9, deleted=True)])

    assert store.mark_deleted("salesforce", ns, ["00Q000000000000001", "00Q000000000000002"]) == 2

    live = [s.id for page in store.iter_snapshots(object=ns) for s in page]
    assert live == ["00Q000000000000000", "00Q000000000000003", "00Q000000000000004"]
    assert store.count_snapshots(object=ns, include_deleted=True) == 6
    assert store.get_snapshots("salesforce", ns, ["00Q000000000000009"])["00Q000000000000009"].deleted


def test_a_page_of_ten_thousand_rows(store: Store, ns: str) -> None:
    """Scale test: one 10,000-record page is stored (and then updated) by single upserts."""
    page = [make_record(ns, i) for i in range(10_000)]

    assert store.upsert_records(page) == 10_000
    store.upsert_records(
        [make_record(ns, i, modified_at=T0 + timedelta(days=1), stage="qualified") for i in range(10_000)]
    )

    assert store.count_snapshots("lead", object=ns) == 10_000
    sample = store.get_snapshots("salesforce", ns, [page[0].id, page[-1].id])
    assert {s.fields["stage"] for s in sample.values()} == {"qualified"}
    assert sample[page[-1].id].fields["company_size"] == 120 + 9_999


def test_the_sqlite_fast_path_stores_datetimes_like_sqlalchemy(tmp_path: Path) -> None:
    """Snapshots go to SQLite through the driver; their timestamps must be the same text SQLAlchemy
    writes elsewhere (or time comparisons between the two would be text comparisons of different
    formats)."""
    store = Store(f"sqlite:///{tmp_path}/fast.db")
    store.migrate()
    moment = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone(timedelta(hours=9)))  # whole seconds, not UTC
    try:
        store.upsert_records([make_record("Lead", 1, modified_at=moment)])
        store.set_watermark("salesforce", "Lead", Watermark(moment, "x"))
        with store.unit_of_work() as uow:
            fast = uow.connection.exec_driver_sql("SELECT modified_at FROM record_snapshots").scalar_one()
            orm = uow.connection.exec_driver_sql("SELECT modified_at FROM watermarks").scalar_one()
    finally:
        store.close()

    assert fast == orm == sqlite_datetime(moment) == "2024-05-01 03:00:00.000000"
