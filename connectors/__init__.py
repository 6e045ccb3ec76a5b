"""CRM connectors (Salesforce, HubSpot) on the real SDKs, and the sandboxes that emulate both CRMs.

Nothing in this package knows about Flask, RQ or the store: it reads and writes CRM records.
"""
