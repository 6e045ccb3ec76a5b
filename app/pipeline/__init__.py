"""The loop: sync from the CRM, evaluate with the active rules, plan writes, write back, audit."""
