"""The Salesforce sandbox: an in-memory org that speaks the REST API simple-salesforce 1.12 uses.

Modules: ``schema`` (objects, picklists, stage metadata), ``store`` (rows, cursors, API counter),
``dml`` (write rules), ``soql_*`` (tokenizer, parser, evaluator), ``auth`` (logins, sessions),
``routes``/``rest_*`` (REST resources), ``app`` (WSGI, faults, counters), ``admin`` (``/_sandbox/``),
``seeding`` (seed data to records), ``sandbox`` (:class:`SalesforceSandbox`).
"""
from __future__ import annotations

from connectors.sandbox.salesforce.sandbox import SalesforceSandbox

__all__ = ["SalesforceSandbox"]
