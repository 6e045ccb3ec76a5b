"""Business behaviour: forward-only lifecyclestage, deal stages and derived fields, metadata APIs."""
from __future__ import annotations

import json

import pytest
from hubspot.crm.contacts import SimplePublicObjectInput
from hubspot.crm.deals import ApiException as DealsApiException
from hubspot.crm.deals import SimplePublicObjectInput as DealInput

from tests.sandbox_hubspot.support import Portal


def _contact_at(portal: Portal, stage: str, skip: int = 0) -> str:
    matches = [r for r in portal.sandbox.store.tables["contacts"].records.values()
               if r.properties.get("lifecyclestage") == stage]
    return str(matches[skip].id)


def test_backward_lifecycle_move_is_silently_ignored(portal: Portal) -> None:
    api = portal.sdk().crm.contacts.basic_api
    record_id = _contact_at(portal, "marketingqualifiedlead")
    answer = api.update(record_id, SimplePublicObjectInput(properties={"lifecyclestage": "lead"}))
    assert answer.properties["lifecyclestage"] == "marketingqualifiedlead"   # 200, value kept


def test_clearing_first_then_setting_moves_lifecycle_backward(portal: Portal) -> None:
    api = portal.sdk().crm.contacts.basic_api
    record_id = _contact_at(portal, "marketingqualifiedlead", skip=1)
    api.update(record_id, SimplePublicObjectInput(properties={"lifecyclestage": ""}))
    assert api.get_by_id(record_id, properties=["lifecyclestage"]).properties["lifecyclestage"] is None
    api.update(record_id, SimplePublicObjectInput(properties={"lifecyclestage": "lead"}))
    assert api.get_by_id(record_id, properties=["lifecyclestage"]).properties["lifecyclestage"] == "lead"


def test_forward_moves_and_other_are_allowed(portal: Portal) -> None:
    api = portal.sdk().crm.contacts.basic_api
    record_id = _contact_at(portal, "subscriber")
    assert api.update(record_id, SimplePublicObjectInput(properties={"lifecyclestage": "salesqualifiedlead"})
                      ).properties["lifecyclestage"] == "salesqualifiedlead"
    assert api.update(record_id, SimplePublicObjectInput(properties={"lifecyclestage": "other"})
                      ).properties["lifecyclestage"] == "other"
    assert api.update(record_id, SimplePublicObjectInput(properties={"lifecyclestage": "lead"})
                      ).properties["lifecyclestage"] == "lead"


def test_another_user_edit_obeys_the_same_forward_only_rule(portal: Portal) -> None:
    record_id = _contact_at(portal, "salesqualifiedlead")
    edited = portal.admin("POST", "edit", {"object": "contacts", "id": record_id,
                                           "properties": {"lifecyclestage": "subscriber", "jobtitle": "Boss"}})
    assert edited["properties"]["lifecyclestage"] == "salesqualifiedlead" and edited["properties"]["jobtitle"] == "Boss"


def test_deal_stage_is_validated_against_the_pipeline_and_derives_closed_fields(portal: Portal) -> None:
    api = portal.sdk().crm.deals.basic_api
    deal_id = next(str(r.id) for r in portal.sandbox.store.tables["deals"].records.values()
                   if r.properties["dealstage"] != "closedwon")
    with pytest.raises(DealsApiException) as raised:
        api.update(deal_id, DealInput(properties={"dealstage": "won-ish"}))
    assert json.loads(raised.value.body)["errors"][0]["code"] == "INVALID_OPTION"
    won = api.update(deal_id, DealInput(properties={"dealstage": "closedwon"}))
    fetched = api.get_by_id(won.id, properties=["hs_is_closed", "hs_is_closed_won", "hs_deal_stage_probability",
                                                "hs_v2_date_entered_current_stage"])
    assert fetched.properties["hs_is_closed"] == "true" and fetched.properties["hs_is_closed_won"] == "true"
    assert fetched.properties["hs_deal_stage_probability"] == "1.0"
    assert fetched.properties["hs_v2_date_entered_current_stage"] >= won.properties["hs_lastmodifieddate"][:10]
    api.update(deal_id, DealInput(properties={"dealstage": "qualifiedtobuy"}))
    again = api.get_by_id(deal_id, properties=["hs_is_closed", "hs_deal_stage_probability"])
    assert again.properties == {**again.properties, "hs_is_closed": "false", "hs_deal_stage_probability": "0.25"}


def test_pipelines_api_serves_the_contract_stages_with_probabilities(portal: Portal) -> None:
    pipelines = portal.sdk().crm.pipelines.pipelines_api.get_all("deals").results
    assert [p.id for p in pipelines] == ["default"] and pipelines[0].label == "Sales Pipeline"
    stages = {s.id: s.metadata for s in pipelines[0].stages}
    assert stages["presentationscheduled"] == {"isClosed": "false", "probability": "0.3"}
    assert stages["closedlost"] == {"isClosed": "true", "probability": "0.0"}
    one = portal.sdk().crm.pipelines.pipeline_stages_api.get_all("deals", "default").results
    assert len(one) == 7


def test_properties_api_lists_types_and_options(portal: Portal) -> None:
    api = portal.sdk().crm.properties.core_api
    contact_props = {p.name: p for p in api.get_all("contacts").results}
    assert contact_props["lifecyclestage"].type == "enumeration"
    assert [o.value for o in contact_props["lifecyclestage"].options][:3] == ["subscriber", "lead",
                                                                             "marketingqualifiedlead"]
    assert contact_props["seminar_attended"].type == "bool" and contact_props["last_activity_date"].type == "date"
    assert api.get_by_name("deals", "dealstage").external_options is True
    assert contact_props["lastmodifieddate"].modification_metadata.read_only_value is True
