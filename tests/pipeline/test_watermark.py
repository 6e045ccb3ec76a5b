"""Watermarks order by (modified_at, id), with HubSpot's numeric ids compared as numbers."""
from __future__ import annotations

import datetime as dt

from connectors.records import Watermark

T = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


def test_numeric_ids_compare_as_numbers() -> None:
    assert Watermark(T, "1160") < Watermark(T, "10520")
    assert max(Watermark(T, "999"), Watermark(T, "1000")).last_id == "1000"


def test_time_comes_before_id() -> None:
    assert Watermark(T, "9") < Watermark(T + dt.timedelta(milliseconds=1), "1")


def test_salesforce_ids_compare_as_text() -> None:
    assert Watermark(T, "00Q5g000000000AEAQ") < Watermark(T, "00Q5g000000000BEAQ")
