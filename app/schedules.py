"""The periodic incremental syncs, from the configuration: one entry per enabled (CRM, object).

Workers started with ``--with-scheduler`` elect one leader, which enqueues these at their interval
(``BATON_SCHEDULE`` names this provider by default).
"""
from __future__ import annotations

from app.config import load_config
from app.queueing.scheduler import ScheduleEntry, incremental_sync_entry

SYNC_JOB = "app.pipeline.jobs.sync"


def schedule_entries() -> list[ScheduleEntry]:
    config = load_config()
    entries: list[ScheduleEntry] = []
    for crm in ("salesforce", "hubspot"):
        section = getattr(config, crm, None)
        if section is None or not section.enabled or not section.schedule.enabled:
            continue
        interval = section.schedule.incremental_interval.total_seconds()
        for name, obj in section.objects.items():
            if obj.enabled:
                entries.append(incremental_sync_entry(crm, name, interval, SYNC_JOB,
                                                      args=(crm, name, "incremental")))
    return entries
