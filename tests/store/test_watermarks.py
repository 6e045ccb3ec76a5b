"""Watermarks, and their atomicity with the snapshot upsert of the same page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.store import Store
from connectors.records import Watermark
from tests.store.conftest import T0, make_record


class SimulatedCrash(Exception):
    pass


def test_no_watermark_before_the_first_sync(store: Store, ns: str) -> None:
    assert store.get_watermark("salesforce", ns) is None


def test_set_get_overwrite_and_clear(store: Store, ns: str) -> None:
    store.set_watermark("hubspot", ns, Watermark(T0, "101"))
    store.set_watermark("hubspot", ns, Watermark(T0 + timedelta(minutes=1), "7"))

    assert store.get_watermark("hubspot", ns) == Watermark(T0 + timedelta(minutes=1), "7")
    assert store.watermarks()[("hubspot", ns)] == Watermark(T0 + timedelta(minutes=1), "7")
    store.clear_watermark("hubspot", ns)
    assert store.get_watermark("hubspot", ns) is None


def test_page_and_watermark_commit_together(store: Store, ns: str) -> None:
    page = [make_record(ns, i) for i in range(3)]

    with store.unit_of_work() as uow:
        uow.upsert_records(page)
        uow.set_watermark("salesforce", ns, page[-1].watermark)

    assert store.get_watermark("salesforce", ns) == page[-1].watermark
    assert store.count_snapshots(object=ns) == 3


def test_a_failure_mid_unit_of_work_writes_nothing(store: Store, ns: str) -> None:
    first = [make_record(ns, i) for i in range(3)]
    with store.unit_of_work() as uow:
        uow.upsert_records(first)
        uow.set_watermark("salesforce", ns, first[-1].watermark)
    second = [make_record(ns, i, stage="qualified", modified_at=T0 + timedelta(days=1)) for i in range(3, 6)]

    with pytest.raises(SimulatedCrash), store.unit_of_work() as uow:
        uow.upsert_records(second)
        uow.set_watermark("salesforce", ns, second[-1].watermark)
        raise SimulatedCrash("the worker died before the commit")

    assert store.get_watermark("salesforce", ns) == first[-1].watermark
    assert store.count_snapshots(object=ns) == 3
    assert store.get_snapshots("salesforce", ns, [r.id for r in second]) == {}
