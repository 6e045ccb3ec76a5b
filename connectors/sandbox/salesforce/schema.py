"""The sandbox org's schema: objects, fields, picklists and the stage metadata behind them.

Lead ``Status`` and Opportunity ``StageName`` are restricted picklists holding the org's customised
values from the domain contract; ``LeadStatus`` and ``OpportunityStage`` are queryable metadata objects
built from the same tables, so describe, SOQL and the write rules always agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STRING_TYPES = frozenset({"id", "reference", "string", "textarea", "email", "picklist", "phone", "url"})
NUMBER_TYPES = frozenset({"double", "int", "currency", "percent"})

# (MasterLabel, IsConverted, IsDefault)
LEAD_STATUSES: tuple[tuple[str, bool, bool], ...] = (
    ("Awareness", False, True), ("Lead Acquired", False, False), ("Nurturing", False, False),
    ("Qualified", False, False), ("Accepted", False, False), ("Disqualified", False, False),
    ("Converted", True, False),
)


@dataclass(frozen=True)
class StageInfo:
    name: str
    probability: float
    forecast_category: str         # ForecastCategory API value
    forecast_category_name: str    # ForecastCategoryName (label)
    is_closed: bool
    is_won: bool


OPPORTUNITY_STAGES: tuple[StageInfo, ...] = (
    StageInfo("Phase 1 - Opportunity", 0, "Pipeline", "Pipeline", False, False),
    StageInfo("Phase 2 - Problem Recognised", 25, "Pipeline", "Pipeline", False, False),
    StageInfo("Phase 3 - Evaluation", 30, "BestCase", "Best Case", False, False),
    StageInfo("Phase 4 - Negotiation", 50, "BestCase", "Best Case", False, False),
    StageInfo("Phase 5 - Approval", 75, "Forecast", "Commit", False, False),
    StageInfo("Closed Won", 100, "Closed", "Closed", True, True),
    StageInfo("Closed Lost", 0, "Omitted", "Omitted", True, False),
)
STAGES_BY_NAME = {stage.name: stage for stage in OPPORTUNITY_STAGES}
FORECAST_CATEGORY_NAMES = ("Pipeline", "Best Case", "Commit", "Closed", "Omitted")


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    label: str = ""
    required: bool = False            # nillable=false and createable: must be given on create
    createable: bool = True
    updateable: bool = True
    custom: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: str | None = None
    relationship: str | None = None   # relationship name, e.g. "Account" for AccountId
    external_id: bool = False
    length: int = 0

    @property
    def category(self) -> str:
        """The comparison family of the field: string, number, boolean, date or datetime."""
        if self.type in STRING_TYPES:
            return "string"
        if self.type in NUMBER_TYPES:
            return "number"
        return self.type

    def describe(self) -> dict[str, Any]:
        picklist_values = [{"active": True, "defaultValue": index == 0 and self.name == "Status",
                            "label": value, "validFor": None, "value": value}
                           for index, value in enumerate(self.picklist)]
        soap = {"id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "double": "xsd:double",
                "currency": "xsd:double", "percent": "xsd:double", "int": "xsd:int", "date": "xsd:date",
                "datetime": "xsd:dateTime"}.get(self.type, "xsd:string")
        return {
            "name": self.name, "label": self.label or self.name.replace("__c", "").replace("_", " "),
            "type": self.type, "soapType": soap, "length": self.length or (255 if self.category == "string" else 0),
            "nillable": not self.required and self.type != "boolean", "createable": self.createable,
            "updateable": self.updateable, "custom": self.custom, "calculated": False,
            "defaultedOnCreate": self.type == "boolean" or self.name in ("Status", "Id", "IsDeleted"),
            "restrictedPicklist": self.restricted, "dependentPicklist": False, "picklistValues": picklist_values,
            "referenceTo": [self.reference_to] if self.reference_to else [], "relationshipName": self.relationship,
            "externalId": self.external_id, "unique": self.external_id, "idLookup": self.name == "Id" or self.external_id,
            "filterable": True, "sortable": self.type != "textarea", "groupable": self.category != "number",
        }


@dataclass(frozen=True)
class ObjectDef:
    name: str
    key_prefix: str
    label: str
    fields: tuple[FieldDef, ...]
    writable: bool = True              # False: metadata objects (LeadStatus, OpportunityStage)
    by_lower: dict[str, FieldDef] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_lower.update({f.name.lower(): f for f in self.fields})

    def field(self, name: str) -> FieldDef | None:
        return self.by_lower.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        lowered = name.lower()
        return next((f for f in self.fields if f.relationship and f.relationship.lower() == lowered), None)

    def describe(self, version: str) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {**self.summary(version), "fields": [f.describe() for f in self.fields], "recordTypeInfos": [],
                "childRelationships": [], "urls": {"sobject": base, "describe": f"{base}/describe",
                                                   "rowTemplate": f"{base}/{{ID}}"}}

    def summary(self, version: str) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {"name": self.name, "label": self.label, "labelPlural": self.label + "s", "keyPrefix": self.key_prefix,
                "custom": False, "queryable": True, "createable": self.writable, "updateable": self.writable,
                "deletable": self.writable, "retrieveable": True, "searchable": self.writable,
                "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}}


def _read_only(name: str, type_: str, label: str = "", reference_to: str | None = None) -> FieldDef:
    return FieldDef(name, type_, label, createable=False, updateable=False, reference_to=reference_to)


def _system_fields() -> tuple[FieldDef, ...]:
    return (
        _read_only("Id", "id", "Record ID"),
        _read_only("IsDeleted", "boolean", "Deleted"),
        _read_only("CreatedDate", "datetime", "Created Date"),
        _read_only("CreatedById", "reference", "Created By ID", reference_to="User"),
        _read_only("LastModifiedDate", "datetime", "Last Modified Date"),
        _read_only("LastModifiedById", "reference", "Last Modified By ID", reference_to="User"),
        _read_only("SystemModstamp", "datetime", "System Modstamp"),
        FieldDef("OwnerId", "reference", "Owner ID", reference_to="User"),
        FieldDef("External_Id__c", "string", "External Id", custom=True, external_id=True),
    )


def _custom(name: str, type_: str, **kwargs: Any) -> FieldDef:
    return FieldDef(name, type_, custom=True, **kwargs)


SEGMENTS = ("SMB", "Enterprise")

LEAD = ObjectDef("Lead", "00Q", "Lead", _system_fields() + (
    FieldDef("FirstName", "string"), FieldDef("LastName", "string", required=True),
    FieldDef("Name", "string", "Full Name", createable=False, updateable=False),
    FieldDef("Company", "string", required=True), FieldDef("Email", "email"), FieldDef("Title", "string"),
    FieldDef("Industry", "string"), FieldDef("NumberOfEmployees", "int"), FieldDef("Country", "string"),
    FieldDef("Status", "picklist", "Lead Status", picklist=tuple(s[0] for s in LEAD_STATUSES), restricted=True),
    FieldDef("IsConverted", "boolean", "Converted", createable=False, updateable=False),
    FieldDef("ConvertedDate", "date", createable=False, updateable=False),
    FieldDef("ConvertedAccountId", "reference", reference_to="Account", relationship="ConvertedAccount",
             createable=False, updateable=False),
    FieldDef("ConvertedContactId", "reference", reference_to="Contact", relationship="ConvertedContact",
             createable=False, updateable=False),
    _custom("Lead_Score__c", "double"), _custom("Email_Clicks__c", "double"), _custom("Web_Visits__c", "double"),
    _custom("Product_Page_Visits__c", "double"), _custom("Seminar_Attended__c", "boolean"),
    _custom("Catalogue_Requested__c", "boolean"), _custom("Inquiry__c", "boolean"),
    _custom("No_Response__c", "boolean"), _custom("Last_Activity_Date__c", "date"),
    _custom("Status_Changed_Date__c", "date"), _custom("Recycle_Count__c", "double"),
    _custom("Recycle_Reason__c", "string"), _custom("Segment__c", "picklist", picklist=SEGMENTS, restricted=True),
    _custom("Disqualified_Reason__c", "string"),
))

ACCOUNT = ObjectDef("Account", "001", "Account", _system_fields() + (
    FieldDef("Name", "string", required=True), FieldDef("Industry", "string"),
    FieldDef("NumberOfEmployees", "int"), FieldDef("AnnualRevenue", "currency"), FieldDef("BillingCountry", "string"),
    _custom("Segment__c", "picklist", picklist=SEGMENTS, restricted=True),
))

CONTACT = ObjectDef("Contact", "003", "Contact", _system_fields() + (
    FieldDef("FirstName", "string"), FieldDef("LastName", "string", required=True),
    FieldDef("Name", "string", "Full Name", createable=False, updateable=False), FieldDef("Email", "email"),
    FieldDef("Title", "string"), FieldDef("MailingCountry", "string"),
    FieldDef("AccountId", "reference", reference_to="Account", relationship="Account"),
))

OPPORTUNITY = ObjectDef("Opportunity", "006", "Opportunity", _system_fields() + (
    FieldDef("Name", "string", required=True),
    FieldDef("StageName", "picklist", "Stage", required=True, picklist=tuple(s.name for s in OPPORTUNITY_STAGES),
             restricted=True),
    FieldDef("Amount", "currency"), FieldDef("CloseDate", "date", required=True), FieldDef("Probability", "percent"),
    FieldDef("IsClosed", "boolean", createable=False, updateable=False),
    FieldDef("IsWon", "boolean", createable=False, updateable=False),
    FieldDef("ForecastCategoryName", "picklist", picklist=FORECAST_CATEGORY_NAMES, restricted=True),
    FieldDef("AccountId", "reference", reference_to="Account", relationship="Account"),
    FieldDef("LastStageChangeDate", "datetime", createable=False, updateable=False),
    _custom("Budget_Confirmed__c", "boolean"), _custom("Authority_Confirmed__c", "boolean"),
    _custom("Need_Confirmed__c", "boolean"), _custom("Timeline_Confirmed__c", "boolean"),
    _custom("Solution_Fit__c", "boolean"), _custom("Champion_Agreed__c", "boolean"),
    _custom("Differentiation_Established__c", "boolean"), _custom("Approval_Process_Started__c", "boolean"),
    _custom("Close_Plan_Complete__c", "boolean"), _custom("Loss_Reason__c", "string"),
    _custom("Gate_Violation__c", "string"), _custom("Segment__c", "picklist", picklist=SEGMENTS, restricted=True),
    _custom("Last_Activity_Date__c", "date"), _custom("Recycle_Count__c", "double"),
))

LEAD_STATUS = ObjectDef("LeadStatus", "01J", "Lead Status Value", writable=False, fields=(
    _read_only("Id", "id"), _read_only("MasterLabel", "string"),
    _read_only("ApiName", "string"), _read_only("IsConverted", "boolean"),
    _read_only("IsDefault", "boolean"), _read_only("SortOrder", "int"),
    _read_only("IsDeleted", "boolean"), _read_only("SystemModstamp", "datetime"),
))

OPPORTUNITY_STAGE = ObjectDef("OpportunityStage", "01J", "Opportunity Stage", writable=False, fields=(
    _read_only("Id", "id"), _read_only("MasterLabel", "string"),
    _read_only("ApiName", "string"), _read_only("DefaultProbability", "percent"),
    _read_only("IsClosed", "boolean"), _read_only("IsWon", "boolean"),
    _read_only("IsActive", "boolean"), _read_only("ForecastCategory", "string"),
    _read_only("ForecastCategoryName", "string"), _read_only("SortOrder", "int"),
    _read_only("IsDeleted", "boolean"), _read_only("SystemModstamp", "datetime"),
))

OBJECTS: dict[str, ObjectDef] = {o.name: o for o in (LEAD, CONTACT, ACCOUNT, OPPORTUNITY, LEAD_STATUS, OPPORTUNITY_STAGE)}
OBJECTS_BY_LOWER: dict[str, ObjectDef] = {name.lower(): o for name, o in OBJECTS.items()}
WRITABLE_OBJECTS = tuple(name for name, o in OBJECTS.items() if o.writable)


def find_object(name: str) -> ObjectDef | None:
    return OBJECTS_BY_LOWER.get(name.lower())


def object_for_id(record_id: str) -> ObjectDef | None:
    """The writable object whose key prefix starts ``record_id`` (what Collections use for routing)."""
    return next((OBJECTS[name] for name in WRITABLE_OBJECTS if record_id.startswith(OBJECTS[name].key_prefix)), None)
