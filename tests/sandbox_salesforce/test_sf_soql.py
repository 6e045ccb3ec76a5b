"""SOQL tokenizer/parser/evaluator unit tests (no server): many small cases against a small seeded org."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from connectors.sandbox.salesforce import SalesforceSandbox
from connectors.sandbox.salesforce.errors import SfError
from connectors.sandbox.salesforce.soql_eval import Evaluator
from connectors.sandbox.salesforce.soql_parser import parse
from connectors.sandbox.seed import generate
from tests.sandbox_salesforce.support import SEED_NOW


@pytest.fixture(scope="module")
def org() -> SalesforceSandbox:
    return SalesforceSandbox(generate(seed=3, leads=120, now=SEED_NOW))


def run(org: SalesforceSandbox, text: str, include_deleted: bool = False) -> list[dict[str, Any]]:
    evaluator = Evaluator(parse(text, today=SEED_NOW.date()), org.store.lookup)
    rows = evaluator.run(org.store.rows(evaluator.object.name, include_deleted))
    return [evaluator.render(row, "59.0") for row in rows]


def leads(org: SalesforceSandbox) -> list[dict[str, Any]]:
    return list(org.store.rows("Lead"))


def error_of(org: SalesforceSandbox, text: str) -> SfError:
    with pytest.raises(SfError) as caught:
        run(org, text)
    return caught.value


@pytest.mark.parametrize("text", [
    "SELECT FROM Lead", "SELECT Id Lead", "SELECT Id FROM", "SELECT Id FROM Lead WHERE",
    "SELECT Id FROM Lead WHERE Email = 'x", "SELECT Id FROM Lead LIMIT x", "SELECT Id FROM Lead ORDER Id",
    "SELECT Id, FROM Lead", "SELECT Id FROM Lead WHERE (Status = 'Nurturing'", "SELECT Id FROM Lead WHERE Status 'A'",
    "SELECT Id FROM Lead trailing", "SELECT Id FROM Lead WHERE Status IN ()",
    "SELECT Id FROM Lead WHERE NumberOfEmployees > 5 AND", "SELECT Id FROM Lead WHERE Email LIKE 5",
    "SELECT Id FROM Lead WHERE Status = 'a' ORDER BY", "UPDATE Lead SET Status = 'x'", "SELECT Id FROM Lead WHERE # = 1",
    "SELECT Id FROM Lead ORDER BY Id NULLS", "SELECT COUNT(), Id FROM Lead",
    "SELECT Id FROM Lead WHERE CreatedDate > LAST_N_DAYS", "SELECT Id FROM Lead WHERE Email = 'bad \\q escape'",
])
def test_malformed_queries_answer_malformed_query(org: SalesforceSandbox, text: str) -> None:
    error = error_of(org, text)
    assert (error.status, error.code) == (400, "MALFORMED_QUERY")
    assert "unexpected token" in error.message or "escape" in error.message or "LIKE" in error.message


@pytest.mark.parametrize("text, name", [
    ("SELECT Id, Nope__c FROM Lead", "Nope__c"), ("SELECT Id FROM Lead WHERE Nope = 1", "Nope"),
    ("SELECT Id FROM Lead ORDER BY Nope", "Nope"), ("SELECT Account.Name FROM Lead", "Account"),
    ("SELECT Account.Nope FROM Opportunity", "Nope"),
])
def test_unknown_fields_answer_invalid_field(org: SalesforceSandbox, text: str, name: str) -> None:
    error = error_of(org, text)
    assert error.code == "INVALID_FIELD" and f"No such column '{name}'" in error.message


def test_unknown_object_answers_invalid_type(org: SalesforceSandbox) -> None:
    assert error_of(org, "SELECT Id FROM Leed").code == "INVALID_TYPE"


@pytest.mark.parametrize("text", [
    "SELECT Id FROM Lead WHERE CreatedDate > '2026-01-01T00:00:00Z'",    # quoted datetime
    "SELECT Id FROM Lead WHERE CreatedDate > 2026-01-01",                # date literal on a datetime
    "SELECT Id FROM Lead WHERE NumberOfEmployees = '10'",
    "SELECT Id FROM Lead WHERE Email = 5", "SELECT Id FROM Lead WHERE Inquiry__c = 'true'",
    "SELECT Id FROM Lead WHERE Last_Activity_Date__c > 2026-01-01T00:00:00Z",
])
def test_literal_of_the_wrong_type_is_refused(org: SalesforceSandbox, text: str) -> None:
    assert error_of(org, text).code == "INVALID_FIELD"


def test_keywords_and_field_names_are_case_insensitive(org: SalesforceSandbox) -> None:
    rows = run(org, "select id, STATUS from lead where status = 'nurturing' limit 3")
    assert len(rows) == 3 and all(row["Status"] == "Nurturing" for row in rows)
    assert list(rows[0]) == ["attributes", "Id", "Status"]


def test_and_binds_tighter_than_or_and_parentheses_override(org: SalesforceSandbox) -> None:
    all_leads = leads(org)
    got = {r["Id"] for r in run(org, "SELECT Id FROM Lead WHERE Status = 'Qualified' OR Status = 'Nurturing' "
                                     "AND Inquiry__c = true")}
    want = {r["Id"] for r in all_leads if r["Status"] == "Qualified" or (r["Status"] == "Nurturing" and r["Inquiry__c"])}
    assert got == want
    got = {r["Id"] for r in run(org, "SELECT Id FROM Lead WHERE (Status = 'Qualified' OR Status = 'Nurturing') "
                                     "AND Inquiry__c = true")}
    want = {r["Id"] for r in all_leads if r["Status"] in ("Qualified", "Nurturing") and r["Inquiry__c"]}
    assert got == want


def test_not_negates_a_condition(org: SalesforceSandbox) -> None:
    got = run(org, "SELECT Id FROM Lead WHERE NOT (Status = 'Nurturing' OR Status = 'Qualified')")
    assert len(got) == sum(1 for r in leads(org) if r["Status"] not in ("Nurturing", "Qualified"))
    assert len(got) > 0


def test_in_and_not_in(org: SalesforceSandbox) -> None:
    statuses = ("Awareness", "Accepted")
    got = run(org, "SELECT Id, Status FROM Lead WHERE Status IN ('awareness', 'Accepted')")
    assert {r["Status"] for r in got} <= set(statuses)
    assert len(got) == sum(1 for r in leads(org) if r["Status"] in statuses)
    excluded = run(org, "SELECT Id FROM Lead WHERE Status NOT IN ('Awareness', 'Accepted')")
    assert len(got) + len(excluded) == len(leads(org))


def test_like_is_case_insensitive_with_both_wildcards(org: SalesforceSandbox) -> None:
    got = run(org, "SELECT Email FROM Lead WHERE Email LIKE 'HARUTO.%'")
    assert got and all(r["Email"].startswith("haruto.") for r in got)
    single = run(org, "SELECT Status FROM Lead WHERE Status LIKE 'Nurtur_ng'")
    assert single and {r["Status"] for r in single} == {"Nurturing"}
    assert run(org, "SELECT Id FROM Lead WHERE Email LIKE 'haruto\\_%'") == []


def test_null_comparisons(org: SalesforceSandbox) -> None:
    total = len(leads(org))
    assert len(run(org, "SELECT Id FROM Lead WHERE Lead_Score__c = null")) == total   # unscored seed
    assert run(org, "SELECT Id FROM Lead WHERE Lead_Score__c != NULL") == []
    assert run(org, "SELECT Id FROM Lead WHERE Lead_Score__c > 0") == []             # null never compares


def test_string_literal_escapes(org: SalesforceSandbox) -> None:
    lead = leads(org)[0]
    org.store.records["Lead"][lead["Id"]]["Title"] = "O'Brien \\ Co"
    got = run(org, "SELECT Id FROM Lead WHERE Title = 'O\\'Brien \\\\ Co'")
    assert [r["Id"] for r in got] == [lead["Id"]]


def test_numbers_and_booleans(org: SalesforceSandbox) -> None:
    got = run(org, "SELECT NumberOfEmployees, Seminar_Attended__c FROM Lead WHERE NumberOfEmployees >= 1000 "
                   "AND Seminar_Attended__c = TRUE")
    assert got and all(r["NumberOfEmployees"] >= 1000 and r["Seminar_Attended__c"] is True for r in got)
    assert isinstance(got[0]["NumberOfEmployees"], int)
    decimals = run(org, "SELECT Id FROM Lead WHERE Web_Visits__c > 2.5")
    assert len(decimals) == sum(1 for r in leads(org) if r["Web_Visits__c"] > 2.5)


def test_date_and_datetime_literals(org: SalesforceSandbox) -> None:
    cutoff = dt.date(2026, 6, 1)
    got = run(org, "SELECT Last_Activity_Date__c FROM Lead WHERE Last_Activity_Date__c >= 2026-06-01")
    assert len(got) == sum(1 for r in leads(org) if r["Last_Activity_Date__c"] >= cutoff)
    assert all(r["Last_Activity_Date__c"] >= "2026-06-01" for r in got)
    stamp = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    want = sum(1 for r in leads(org) if r["SystemModstamp"] > stamp)
    for literal in ("2026-06-01T00:00:00Z", "2026-06-01T00:00:00+00:00", "2026-06-01T09:00:00.000+0900",
                    "2026-06-01T00:00:00.000Z"):
        assert len(run(org, f"SELECT Id FROM Lead WHERE SystemModstamp > {literal}")) == want, literal


def test_datetimes_compare_to_the_millisecond(org: SalesforceSandbox) -> None:
    lead = leads(org)[1]
    stamp = dt.datetime(2026, 10, 1, 8, 0, 0, 123000, tzinfo=dt.UTC)
    org.store.records["Lead"][lead["Id"]]["SystemModstamp"] = stamp
    assert [r["Id"] for r in run(org, "SELECT Id FROM Lead WHERE SystemModstamp = 2026-10-01T08:00:00.123Z")] == [lead["Id"]]
    assert run(org, "SELECT Id FROM Lead WHERE SystemModstamp = 2026-10-01T08:00:00.124Z") == []
    got = run(org, "SELECT SystemModstamp FROM Lead WHERE Id = '" + lead["Id"] + "'")
    assert got[0]["SystemModstamp"] == "2026-10-01T08:00:00.123+0000"


def test_relative_date_literals(org: SalesforceSandbox) -> None:
    today = SEED_NOW.date()
    got = run(org, "SELECT Id FROM Lead WHERE Last_Activity_Date__c = LAST_N_DAYS:30")
    want = sum(1 for r in leads(org) if today - dt.timedelta(days=30) <= r["Last_Activity_Date__c"] <= today)
    assert len(got) == want and want > 0
    assert len(run(org, "SELECT Id FROM Lead WHERE CreatedDate < TODAY")) == len(leads(org))


def test_order_by_several_fields_directions_and_nulls(org: SalesforceSandbox) -> None:
    rows = run(org, "SELECT Status, NumberOfEmployees FROM Lead ORDER BY Status ASC, NumberOfEmployees DESC")
    keys = [(r["Status"].casefold(), -r["NumberOfEmployees"]) for r in rows]
    assert keys == sorted(keys)
    first = run(org, "SELECT Disqualified_Reason__c FROM Lead ORDER BY Disqualified_Reason__c NULLS LAST")
    values = [r["Disqualified_Reason__c"] for r in first]
    assert values[0] is not None and values[-1] is None
    default = run(org, "SELECT Disqualified_Reason__c FROM Lead ORDER BY Disqualified_Reason__c")
    assert default[0]["Disqualified_Reason__c"] is None       # ASC puts nulls first by default


def test_limit_and_offset(org: SalesforceSandbox) -> None:
    ordered = [r["Id"] for r in run(org, "SELECT Id FROM Lead ORDER BY Id")]
    assert [r["Id"] for r in run(org, "SELECT Id FROM Lead ORDER BY Id LIMIT 5 OFFSET 10")] == ordered[10:15]
    assert ordered == sorted(ordered)


def test_relationship_fields_in_select_and_where(org: SalesforceSandbox) -> None:
    rows = run(org, "SELECT Name, Account.Name, Account.Industry FROM Opportunity WHERE Account.Industry = 'Software'")
    assert rows and all(r["Account"]["Industry"] == "Software" for r in rows)
    assert rows[0]["Account"]["attributes"]["type"] == "Account"
    assert rows[0]["Name"].startswith(rows[0]["Account"]["Name"])


def test_metadata_objects_are_queryable(org: SalesforceSandbox) -> None:
    stages = run(org, "SELECT MasterLabel, DefaultProbability, IsClosed, IsWon, ForecastCategoryName "
                      "FROM OpportunityStage ORDER BY SortOrder")
    assert [(s["MasterLabel"], s["DefaultProbability"], s["ForecastCategoryName"]) for s in stages][2] == (
        "Phase 3 - Evaluation", 30.0, "Best Case")
    assert [s["MasterLabel"] for s in stages if s["IsWon"]] == ["Closed Won"]
    converted = run(org, "SELECT MasterLabel FROM LeadStatus WHERE IsConverted = true")
    assert [s["MasterLabel"] for s in converted] == ["Converted"]


def test_count(org: SalesforceSandbox) -> None:
    evaluator = Evaluator(parse("SELECT COUNT() FROM Lead WHERE Status = 'Nurturing'"), org.store.lookup)
    assert len(evaluator.run(org.store.rows("Lead"))) == sum(1 for r in leads(org) if r["Status"] == "Nurturing")
    assert parse("SELECT COUNT() FROM Lead").count == "COUNT()"


def test_fifteen_character_ids_match_their_eighteen_character_form(org: SalesforceSandbox) -> None:
    lead_id = leads(org)[7]["Id"]
    assert [r["Id"] for r in run(org, f"SELECT Id FROM Lead WHERE Id = '{lead_id[:15]}'")] == [lead_id]
    assert [r["Id"] for r in run(org, f"SELECT Id FROM Lead WHERE Id IN ('{lead_id[:15]}', 'x')")] == [lead_id]
