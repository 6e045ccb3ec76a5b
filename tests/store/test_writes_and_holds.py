"""Last written values (to tell manual edits from Baton's own) and manual-change holds."""

from __future__ import annotations

from datetime import date, timedelta

from app.store import Hold, LastWrite, Store
from tests.store.conftest import T0


def test_last_written_values_round_trip_and_latest_wins(store: Store, ns: str) -> None:
    store.record_written_values(
        [
            LastWrite("salesforce", ns, "00Q1", "stage", "qualified", T0, "d-1"),
            LastWrite("salesforce", ns, "00Q1", "score", 120, T0),
            LastWrite("salesforce", ns, "00Q2", "stage_changed_date", date(2024, 3, 1), T0),
        ]
    )
    store.record_written_values(
        [LastWrite("salesforce", ns, "00Q1", "stage", "accepted", T0 + timedelta(1), "d-2")]
    )

    written = store.last_written_values("salesforce", ns, ["00Q1", "00Q2", "00Q3"])

    assert set(written) == {"00Q1", "00Q2"}
    assert written["00Q1"]["stage"].value == "accepted"
    assert written["00Q1"]["stage"].decision_id == "d-2"
    assert written["00Q1"]["stage"].written_at == T0 + timedelta(days=1)
    assert written["00Q1"]["score"].value == 120
    assert written["00Q2"]["stage_changed_date"].value == date(2024, 3, 1)


def test_holds_are_active_until_they_expire(store: Store, ns: str) -> None:
    store.set_holds(
        [
            Hold("hubspot", ns, "501", "stage", "accepted", T0 + timedelta(days=7), "changed by a person"),
            Hold(
                "hubspot",
                ns,
                "502",
                "stage",
                None,
                T0 + timedelta(hours=1),
                "cleared by a person",
                held_since=T0,
            ),
        ]
    )

    at_start = store.active_holds("hubspot", ns, ["501", "502", "503"], at=T0)
    after_a_day = store.active_holds("hubspot", ns, ["501", "502"], at=T0 + timedelta(days=1))

    assert set(at_start) == {"501", "502"}
    assert at_start["501"]["stage"].observed_value == "accepted"
    assert at_start["502"]["stage"].held_since == T0
    assert set(after_a_day) == {"501"}


def test_a_new_hold_replaces_the_old_and_release_ends_it(store: Store, ns: str) -> None:
    store.set_holds([Hold("hubspot", ns, "501", "stage", "accepted", T0 + timedelta(days=7), "first")])
    store.set_holds([Hold("hubspot", ns, "501", "stage", "qualified", T0 + timedelta(days=9), "again")])

    hold = store.active_holds("hubspot", ns, ["501"], at=T0)["501"]["stage"]
    assert (hold.observed_value, hold.reason, hold.held_until) == (
        "qualified",
        "again",
        T0 + timedelta(days=9),
    )
    assert store.release_holds("hubspot", ns, "501", ["stage"]) == 1
    assert store.active_holds("hubspot", ns, ["501"], at=T0) == {}
