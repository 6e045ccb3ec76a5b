"""SalesforceConnector write-back and error mapping against the sandbox (real SDK, HTTPS)."""
from __future__ import annotations

import datetime as dt

import pytest

from connectors.errors import AuthError, FatalError, RateLimited, RetriableError
from connectors.mapping import ObjectMapping
from connectors.records import FieldUpdate, RecordKind
from connectors.salesforce_settings import SalesforceSettings
from tests.connectors_salesforce.support import connector, lead_ids
from tests.sandbox_salesforce.support import LiveSandbox


def test_partial_failures_return_outcomes_and_good_records_are_written(live: LiveSandbox) -> None:
    sf = connector(live)
    ids = lead_ids(live)[:6]
    live.admin("PUT", "faults", {"lock_row_next": 1, "fail_records": {ids[2]: "Recycle reason required"},
                                 "endpoints": ["composite/sobjects"]})
    updates = [FieldUpdate("Lead", rid, {"Lead_Score__c": 80}) for rid in ids]
    updates[3] = FieldUpdate("Lead", ids[3], {"Status": "Hot Lead"})
    updates[4] = FieldUpdate("Lead", ids[4], {})
    outcomes = sf.write("Lead", updates)
    assert [(o.id, o.ok, o.error_code) for o in outcomes] == [
        (ids[0], False, "UNABLE_TO_LOCK_ROW"), (ids[1], True, None), (ids[2], False, "FIELD_CUSTOM_VALIDATION_EXCEPTION"),
        (ids[3], False, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"), (ids[4], True, None), (ids[5], True, None)]
    assert [o.retriable for o in outcomes] == [True, False, False, False, False, False]
    assert outcomes[3].fields == ("Status",) and outcomes[2].message == "Recycle reason required"
    scores = {r.id: r.fields["score"] for r in sf.fetch("Lead", ids)}
    assert scores == {ids[0]: None, ids[1]: 80, ids[2]: None, ids[3]: None, ids[4]: None, ids[5]: 80}
    assert sf.ledger.snapshot()["write"]["calls"] == 1     # the empty update costs no call


def test_converted_leads_are_refused_per_record(live: LiveSandbox) -> None:
    sf = connector(live)
    converted = live.ids("Lead", "WHERE IsConverted = true")[0]
    normal = lead_ids(live)[0]
    outcomes = sf.write("Lead", [FieldUpdate("Lead", converted, {"Lead_Score__c": 1}),
                                 FieldUpdate("Lead", normal, {"Lead_Score__c": 1})])
    assert [(o.ok, o.error_code) for o in outcomes] == [(False, "CANNOT_UPDATE_CONVERTED_LEAD"), (True, None)]


def test_stage_write_derives_probability_and_dates_are_serialised(live: LiveSandbox) -> None:
    sf = connector(live)
    opp = live.ids("Opportunity", "WHERE IsClosed = false")[0]
    outcome, = sf.write("Opportunity", [FieldUpdate("Opportunity", opp, {
        "StageName": "Phase 5 - Approval", "Last_Activity_Date__c": dt.date(2026, 11, 20)})])
    assert outcome.ok
    record, = sf.fetch("Opportunity", [opp])
    assert (record.fields["stage"], record.fields["probability"]) == ("Phase 5 - Approval", 75)
    assert record.fields["last_activity_date"] == dt.date(2026, 11, 20)
    assert record.fields["stage_changed_date"] == dt.datetime.now(dt.UTC).date()


def test_rate_limit_maps_to_rate_limited(live: LiveSandbox) -> None:
    sf = connector(live)
    live.admin("PUT", "faults", {"rate_limit_next": 1})
    with pytest.raises(RateLimited) as caught:
        list(sf.read_changed("Lead", None))
    assert caught.value.code == "REQUEST_LIMIT_EXCEEDED" and caught.value.status == 403
    assert len([r for p in sf.read_changed("Lead", None) for r in p]) == 300
    assert sf.api_usage is not None and sf.api_usage.limit == 100_000 and sf.api_usage.used >= 1


def test_server_errors_and_timeouts_are_retriable(live: LiveSandbox) -> None:
    sf = connector(live, timeout_s=0.3)
    one = lead_ids(live)[:1]
    live.admin("PUT", "faults", {"server_error_next": 1})
    with pytest.raises(RetriableError) as caught:
        sf.fetch("Lead", one)
    assert caught.value.status == 500 and not isinstance(caught.value, RateLimited)
    live.admin("PUT", "faults", {"timeout_next": 1, "timeout_s": 1.0})
    with pytest.raises(RetriableError) as caught:
        sf.fetch("Lead", one)
    assert caught.value.code in ("TIMEOUT", "CONNECTION")


def test_bad_field_mapping_is_fatal(live: LiveSandbox) -> None:
    bad = ObjectMapping("Lead", RecordKind.LEAD, {"score": "Score_Typo__c"})
    sf = connector(live, objects={"Lead": bad})
    with pytest.raises(FatalError) as caught:
        list(sf.read_changed("Lead", None))
    assert caught.value.code == "INVALID_FIELD"
    with pytest.raises(FatalError):
        sf.fetch("Contact", ["003"])                    # not configured


def test_wrong_password_is_an_auth_error_without_secrets(live: LiveSandbox) -> None:
    with pytest.raises(AuthError) as caught:
        connector(live, session_id=None, password="not-the-password")
    text = str(caught.value)
    assert "INVALID_LOGIN" in (caught.value.code or "") and "not-the-password" not in text
    assert live.info["security_token"] not in text


def test_expired_session_is_refreshed_once_by_logging_in(live: LiveSandbox) -> None:
    sf = connector(live)                                 # starts on the given session id
    live.admin("DELETE", "sessions")
    assert len([r for p in sf.read_changed("Lead", None) for r in p]) == 300
    ledger = sf.ledger.snapshot()
    assert ledger["auth"]["calls"] == 1 and ledger["read"]["retries"] == 1


def test_expired_session_without_credentials_is_an_auth_error(live: LiveSandbox) -> None:
    sf = connector(live, password=None)
    one = lead_ids(live)[:1]
    live.admin("DELETE", "sessions")
    with pytest.raises(AuthError) as caught:
        sf.fetch("Lead", one)
    assert caught.value.code == "INVALID_SESSION_ID"


def test_soap_and_oauth_logins(live: LiveSandbox) -> None:
    soap = connector(live, session_id=None)
    oauth = connector(live, session_id=None, security_token=None)
    for sf in (soap, oauth):
        assert len(sf.fetch("Lead", lead_ids(live)[:2])) == 2
        assert sf.ledger.snapshot()["auth"]["calls"] == 1


def test_settings_never_show_secrets(live: LiveSandbox) -> None:
    settings = SalesforceSettings.from_client_info(live.info)
    text = repr(settings)
    for secret in ("password", "security_token", "session_id", "consumer_secret"):
        assert live.info[secret] not in text


def test_explicit_auth_modes(live: LiveSandbox) -> None:
    password = connector(live, auth="password")             # logs in although a session id is given
    assert password.ledger.snapshot()["auth"]["calls"] == 1
    session_only = connector(live, auth="session", password=None)
    assert "auth" not in session_only.ledger.snapshot()
    with pytest.raises(AuthError):
        connector(live, auth="oauth", consumer_secret=None)
    with pytest.raises(AuthError):
        connector(live, auth="session", session_id=None)


def test_password_login_sessions_are_refreshed_by_the_sdk_itself(live: LiveSandbox) -> None:
    sf = connector(live, auth="password")
    three = lead_ids(live)[:3]
    live.admin("DELETE", "sessions")
    assert len(sf.fetch("Lead", three)) == 3
    assert live.admin("GET", "counters")["calls"]["POST Soap/u/login"] == 2    # first login + re-login
