"""Sandboxes: HTTP servers that behave like the Salesforce REST API and HubSpot CRM v3 on the wire."""
