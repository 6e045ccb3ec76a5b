"""The real :class:`app.web.services.Services`: the web service's boundary on the pipeline.

``build_services(config)`` is the default ``BATON_SERVICES_FACTORY``. Every method either queues
work for the RQ workers (re-evaluations, syncs) or reads/writes the store and Redis directly
(status, rules versions, record history, dry runs); none calls a CRM in the web process.

Rules versions: the store names a version by the hash of its text; the API numbers them 1, 2, ...
in upload order (that numbering is derived, so it is the same in every web process).
"""
from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import redis
from redis.exceptions import RedisError
from rq.job import Job
from sqlalchemy import text

from app.config import load_config
from app.config_schema import BatonConfig
from app.pipeline.context import PipelineContext
from app.pipeline.dryrun import dry_run as run_dry_run
from app.pipeline.dryrun import enqueue_dry_run_sync
from app.pipeline.jobs import enqueue_sync
from app.pipeline.runner import targets_for
from app.pipeline.webhook_sync import enqueue_reevaluation
from app.queueing import get_queues, queue_overview, redis_connection, sync_job_id
from app.queueing.serializer import SERIALIZER
from app.store import RulesVersionInfo, new_id
from app.web.rules_check import validate_rules_text
from app.web.services import (
    ComponentCheck,
    InvalidRequest,
    JsonDict,
    NotFound,
    RuleProblem,
    RulesVersion,
    Unavailable,
)
from rules.load import load_ruleset_text

log = logging.getLogger(__name__)
PIPELINE_CONFIG_KEY = "BATON_PIPELINE_CONFIG"
"""Flask config key that may hold a ready :class:`BatonConfig` (tests, the demo); else ``load_config()``."""


def build_services(config: Mapping[str, Any] | BatonConfig | None = None, *,
                   redis_client: redis.Redis | None = None) -> PipelineServices:
    """Services on the pipeline, from Baton's configuration.

    ``config`` is the Flask config (as ``create_app`` passes it: a :class:`BatonConfig` under
    ``BATON_PIPELINE_CONFIG``, else the file named by ``BATON_CONFIG``) or a :class:`BatonConfig`.
    """
    baton = config if isinstance(config, BatonConfig) else None
    if baton is None and isinstance(config, Mapping):
        baton = config.get(PIPELINE_CONFIG_KEY)
    baton = baton or load_config()
    if redis_client is None:
        url = baton.redis_url.get_secret_value() if baton.redis_url else None
        if url is None and isinstance(config, Mapping) and config.get("BATON_REDIS_URL"):
            url = str(config["BATON_REDIS_URL"])
        redis_client = redis_connection(url)
    return PipelineServices(PipelineContext(baton, redis_client, engine_name="python"))


class PipelineServices:
    """:class:`app.web.services.Services` on RQ, the store and the rules package."""

    def __init__(self, ctx: PipelineContext) -> None:
        self.ctx = ctx
        self._lock = threading.Lock()      # the context builds the store lazily; threads share it

    @property
    def redis(self) -> redis.Redis:
        return self.ctx.redis

    def _store(self) -> Any:
        with self._lock:
            return self.ctx.store

    # -- webhooks --------------------------------------------------------------------------------
    def known_objects(self, crm: str) -> frozenset[str]:
        if crm not in self.ctx.enabled_crms():
            return frozenset()
        return frozenset(self.ctx.mappings(crm))

    def reevaluate(self, crm: str, object: str, record_ids: Sequence[str], source: str) -> str:
        self._check_object(crm, object)
        try:
            job_ids = enqueue_reevaluation(self.redis, crm, object, record_ids)
        except RedisError as exc:
            raise Unavailable(f"the evaluation queue is not reachable ({type(exc).__name__})") from None
        log.info("re-evaluation of %d %s %s record(s) queued for %s: %s", len(record_ids), crm, object,
                 source, ", ".join(job_ids))
        return ",".join(job_ids)

    # -- syncs and queues ------------------------------------------------------------------------
    def start_sync(self, crm: str, object: str | None, full: bool, dry_run: bool) -> list[str]:
        try:
            targets = targets_for(self.ctx, crm, object)
        except KeyError as exc:
            raise InvalidRequest(str(exc.args[0]) if exc.args else f"{crm} is not configured") from None
        jobs: list[str] = []
        try:
            for target_crm, object_name in targets:
                if dry_run:
                    jobs.append(enqueue_dry_run_sync(self.redis, target_crm, object_name))
                    continue
                enqueue_sync(self.redis, target_crm, object_name, run_id=new_id(), full=full)
                jobs.append(sync_job_id(target_crm, object_name, "full" if full else "incremental"))
        except RedisError as exc:
            raise Unavailable(f"the sync queue is not reachable ({type(exc).__name__})") from None
        return jobs

    def sync_status(self) -> list[JsonDict]:
        runs = [{"run_id": r.run_id, "crm": r.crm, "object": r.object, "mode": str(r.mode),
                 "state": str(r.status), "started_at": r.started_at, "finished_at": r.finished_at,
                 "counts": r.counts} for r in self._store().recent_runs(limit=20)]
        return self._queued_syncs() + runs

    def _queued_syncs(self) -> list[JsonDict]:
        """Sync jobs queued or running now (queued syncs are tracked in Redis, not the store)."""
        found: list[JsonDict] = []
        for queue in get_queues(self.redis, ["sync"]):
            ids = list(queue.get_job_ids()) + list(queue.started_job_registry.get_job_ids())
            for job in Job.fetch_many(ids, connection=self.redis, serializer=SERIALIZER):
                if job is not None:
                    crm, object_name = (list(job.args) + [None, None])[:2]
                    found.append({"job_id": job.id, "crm": crm, "object": object_name,
                                  "state": str(job.get_status(refresh=False)), "started_at": job.started_at,
                                  "enqueued_at": job.enqueued_at})
        return found

    def queue_status(self) -> list[JsonDict]:
        return [{"name": f.queue, "queued": f.queued, "started": f.started, "scheduled": f.scheduled,
                 "failed": f.failed, "finished": f.finished, "workers": f.workers}
                for f in queue_overview(self.redis)]

    def failed_jobs(self) -> list[JsonDict]:
        result: list[JsonDict] = []
        for queue in get_queues(self.redis):
            registry = queue.failed_job_registry
            ids = registry.get_job_ids()
            for job_id, job in zip(ids, Job.fetch_many(ids, connection=self.redis, serializer=SERIALIZER),
                                   strict=True):
                failure = (job.meta.get("failure") or {}) if job is not None else {}
                error = failure.get("error") or {}
                result.append({"id": job_id, "queue": queue.name,
                               "function": job.func_name if job is not None else None,
                               "reason": f"{failure.get('reason', 'failed')}: {error.get('message', '')}".strip(": "),
                               "failed_at": job.ended_at if job is not None else None})
        return result

    def retry_failed(self, job_id: str) -> str:
        for queue in get_queues(self.redis):
            registry = queue.failed_job_registry
            if job_id in registry.get_job_ids():
                registry.requeue(job_id)
                return job_id
        raise NotFound(f"no failed job with id {job_id!r}")

    def rate_limit_budget(self) -> list[JsonDict]:
        budgets: list[JsonDict] = []
        for crm in self.ctx.enabled_crms():
            for b in self.ctx.limiter(crm).budget():
                budgets.append({"crm": crm, "account": b.account, "bucket": b.bucket, "remaining": b.available,
                                "limit": b.capacity, "per_second": b.per_second,
                                "blocked_for_s": b.blocked_for_s, "tightened": b.tightened})
        return budgets

    # -- rules -----------------------------------------------------------------------------------
    def upload_rules(self, text_: str, filename: str,
                     uploaded_by: str) -> tuple[RulesVersion | None, list[RuleProblem]]:
        problems = validate_rules_text(text_, filename)
        if problems:
            return None, problems
        stored = self._store().add_rules_version(text_, name=filename, uploaded_by=uploaded_by,
                                                 validation={"ok": True})
        return self._numbered(stored.version), []

    def activate_rules(self, version: int) -> RulesVersion:
        versions = self._ordered()
        if not 1 <= version <= len(versions):
            raise NotFound(f"no rules version {version}")
        self._store().activate_rules_version(versions[version - 1].version)
        return self._numbered(versions[version - 1].version)

    def list_rules_versions(self) -> list[RulesVersion]:
        return list(reversed([_as_api(number, info) for number, info in enumerate(self._ordered(), 1)]))

    def _ordered(self) -> list[RulesVersionInfo]:
        """Stored versions, oldest upload first (the API's numbering)."""
        return list(reversed(self._store().rules_versions()))

    def _numbered(self, content_version: str) -> RulesVersion:
        for number, info in enumerate(self._ordered(), 1):
            if info.version == content_version:
                return _as_api(number, info)
        raise NotFound(f"no rules version {content_version}")

    def dry_run(self, rules_text: str, filename: str) -> tuple[JsonDict | None, list[RuleProblem]]:
        problems = validate_rules_text(rules_text, filename)
        if problems:
            return None, problems
        self._store()               # built once, under the lock, before the dry run reads it
        return run_dry_run(self.ctx, load_ruleset_text(rules_text, filename), filename=filename), []

    # -- records ---------------------------------------------------------------------------------
    def record_history(self, crm: str, object: str, record_id: str) -> JsonDict:
        store = self._store()
        snapshot = store.get_snapshots(crm, object, [record_id]).get(record_id)
        decisions = store.record_history(crm, object, record_id)
        if snapshot is None and not decisions:
            raise NotFound(f"Baton has no record {crm}/{object}/{record_id}")
        return {"crm": crm, "object": object, "record_id": record_id,
                "snapshot": None if snapshot is None else {
                    "kind": snapshot.kind, "fields": snapshot.fields, "raw": snapshot.raw,
                    "modified_at": snapshot.modified_at, "deleted": snapshot.deleted,
                    "last_seen": snapshot.last_seen},
                "decisions": [_decision_json(d) for d in decisions]}

    # -- health ----------------------------------------------------------------------------------
    def readiness(self) -> list[ComponentCheck]:
        return [self._database_check(), _redis_check(self.redis)]

    def _database_check(self) -> ComponentCheck:
        try:
            with self._store().engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any driver error means "not ready"
            return ComponentCheck("database", False, f"database not reachable ({type(exc).__name__})")
        return ComponentCheck("database", True)

    def _check_object(self, crm: str, object: str) -> None:
        known = self.known_objects(crm)
        if object not in known:
            raise InvalidRequest(f"Baton does not sync {crm} object {object!r}: use one of {sorted(known)}")


def _as_api(number: int, info: RulesVersionInfo) -> RulesVersion:
    return RulesVersion(version=number, filename=info.name, uploaded_by=info.uploaded_by or "",
                        uploaded_at=info.uploaded_at, active=info.active,
                        sha256=hashlib.sha256(info.content.encode()).hexdigest())


def _decision_json(decision: Any) -> JsonDict:
    return {"decision_id": decision.decision_id, "run_id": decision.run_id, "rule": decision.rule_id,
            "ruleset_version": decision.ruleset_version, "from_stage": decision.from_stage,
            "to_stage": decision.to_stage, "changes": decision.changes, "reason": decision.reason,
            "status": str(decision.status) if decision.status is not None else None,
            "decided_at": decision.decided_at, "explanation": decision.explanation,
            "events": [{"status": str(e.status), "at": e.at, "detail": e.detail, "crm_answer": e.crm_answer}
                       for e in decision.events]}


def _redis_check(client: redis.Redis) -> ComponentCheck:
    try:
        client.ping()
    except RedisError as exc:
        return ComponentCheck("redis", False, f"redis not reachable ({type(exc).__name__})")
    return ComponentCheck("redis", True)
