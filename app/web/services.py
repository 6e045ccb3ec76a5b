"""The boundary between the web service and the rest of Baton.

Views never touch queues, the store or the rules package directly: they call a :class:`Services`
object. The lead implements it on the real pipeline (RQ queues, the store, the rules compiler);
:class:`InProcessServices` implements it in memory, recording every call, for tests and for
``baton serve --in-memory`` during development.

Every return value is plain data (dataclasses, dicts, lists of JSON-serialisable values), so a view
can turn it into JSON without knowing where it came from.
"""
from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from redis import Redis
from redis.exceptions import RedisError

JsonDict = dict[str, Any]


class ServiceError(Exception):
    """Base of the errors a :class:`Services` implementation raises on purpose.

    The message is shown to the API caller, so it must never contain a secret.
    """


class NotFound(ServiceError):
    """The named job, rules version or record does not exist (answered as 404)."""


class InvalidRequest(ServiceError):
    """The request names something the service cannot act on, e.g. an unknown object (400)."""


class Unavailable(ServiceError):
    """A dependency (Redis, the database) is down; the caller should retry later (503)."""


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """One problem found in a rules file, located as ``FILE:LINE:COLUMN`` (1-based)."""

    file: str
    line: int
    column: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


@dataclass(frozen=True, slots=True)
class RulesVersion:
    """A stored rules file version. Versions are numbered 1, 2, ... and never deleted."""

    version: int
    filename: str
    uploaded_by: str
    uploaded_at: datetime
    active: bool
    sha256: str = ""


@dataclass(frozen=True, slots=True)
class ComponentCheck:
    """Readiness of one dependency. ``detail`` explains a failure without naming secrets."""

    name: str
    ok: bool
    detail: str = ""


@runtime_checkable
class Services(Protocol):
    """What the web service needs from Baton. ``crm`` is ``"hubspot"`` or ``"salesforce"``;
    ``object`` is the CRM's own object name (``"contacts"``, ``"deals"``, ``"Lead"``, ...)."""

    def known_objects(self, crm: str) -> frozenset[str]:
        """The CRM objects Baton syncs for ``crm``; webhook events for others are ignored."""

    def reevaluate(self, crm: str, object: str, record_ids: Sequence[str], source: str) -> str:
        """Queue re-evaluation (fetch, evaluate, write back) of exactly these records.

        Must return quickly (enqueue only). Returns the job id. ``source`` says who asked, e.g.
        ``"webhook:hubspot"``. Raises :class:`Unavailable` when the queue cannot be reached.
        """

    def start_sync(self, crm: str, object: str | None, full: bool, dry_run: bool) -> list[str]:
        """Queue a sync of one object (or every configured object when ``None``); returns job ids."""

    def sync_status(self) -> list[JsonDict]:
        """Recent and running syncs, newest first (crm, object, state, counts, timestamps)."""

    def queue_status(self) -> list[JsonDict]:
        """One entry per queue: name, queued, started, failed, scheduled counts, workers."""

    def failed_jobs(self) -> list[JsonDict]:
        """Jobs in the failed registries: id, queue, function, reason, failed_at."""

    def retry_failed(self, job_id: str) -> str:
        """Requeue a failed job; returns its id. Raises :class:`NotFound` if it is not failed."""

    def rate_limit_budget(self) -> list[JsonDict]:
        """Per CRM account: limit, remaining, window, reset time, as last known."""

    def upload_rules(self, text: str, filename: str,
                     uploaded_by: str) -> tuple[RulesVersion | None, list[RuleProblem]]:
        """Validate and store a rules file as a new (inactive) version.

        Returns ``(version, [])`` when valid, or ``(None, problems)`` when not; a rejected file is
        not stored and changes nothing.
        """

    def activate_rules(self, version: int) -> RulesVersion:
        """Make ``version`` the active rules. Raises :class:`NotFound` for an unknown version."""

    def list_rules_versions(self) -> list[RulesVersion]:
        """Every stored version, newest first."""

    def record_history(self, crm: str, object: str, record_id: str) -> JsonDict:
        """A record's latest snapshot and its decisions with explanations, newest first.

        Raises :class:`NotFound` when Baton has never seen the record.
        """

    def dry_run(self, rules_text: str, filename: str) -> tuple[JsonDict | None, list[RuleProblem]]:
        """Evaluate a rules file against every stored snapshot without writing anything.

        Returns ``(report, [])`` or ``(None, problems)`` when the file is invalid. The report holds
        the transition matrix by count and amount, backward moves and recycles, and per-record diffs.
        """

    def readiness(self) -> list[ComponentCheck]:
        """Reachability of the database and Redis."""


RulesValidator = Callable[[str, str], list[RuleProblem]]


@dataclass
class ReevaluateCall:
    """One recorded :meth:`InProcessServices.reevaluate` call."""

    crm: str
    object: str
    record_ids: list[str]
    source: str
    job_id: str


_DEFAULT_OBJECTS: Mapping[str, frozenset[str]] = {
    "hubspot": frozenset({"contacts", "companies", "deals"}),
    "salesforce": frozenset({"Lead", "Contact", "Account", "Opportunity"}),
}


@dataclass
class InProcessServices:
    """An in-memory :class:`Services` that records what it is asked to do.

    It is a real implementation of the boundary, not a mock of a library: rules versions are kept
    and activated, failed jobs can be retried, and readiness pings a real Redis when given one.
    ``validate_rules`` decides whether an uploaded file is valid (see :mod:`app.web.rules_check`).
    """

    validate_rules: RulesValidator
    redis: Redis | None = None
    database_ok: bool = True
    objects: Mapping[str, frozenset[str]] = field(default_factory=lambda: dict(_DEFAULT_OBJECTS))
    reevaluations: list[ReevaluateCall] = field(default_factory=list)
    syncs: list[JsonDict] = field(default_factory=list)
    failed: dict[str, JsonDict] = field(default_factory=dict)
    retried: list[str] = field(default_factory=list)
    histories: dict[tuple[str, str, str], JsonDict] = field(default_factory=dict)
    fail_enqueue: bool = False   # simulate the queue being down
    _versions: list[RulesVersion] = field(default_factory=list)
    _texts: dict[int, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def known_objects(self, crm: str) -> frozenset[str]:
        return self.objects.get(crm, frozenset())

    def reevaluate(self, crm: str, object: str, record_ids: Sequence[str], source: str) -> str:
        self._check_object(crm, object)
        if self.fail_enqueue:
            raise Unavailable("the evaluation queue is not reachable")
        with self._lock:
            job_id = f"reevaluate-{len(self.reevaluations) + 1}"
            self.reevaluations.append(ReevaluateCall(crm, object, list(record_ids), source, job_id))
        return job_id

    def start_sync(self, crm: str, object: str | None, full: bool, dry_run: bool) -> list[str]:
        objects = [object] if object is not None else sorted(self.known_objects(crm))
        for name in objects:
            self._check_object(crm, name)
        job_ids = []
        with self._lock:
            for name in objects:
                job_id = f"sync-{crm}-{name}-{len(self.syncs) + 1}"
                self.syncs.append({"job_id": job_id, "crm": crm, "object": name, "full": full,
                                   "dry_run": dry_run, "state": "queued"})
                job_ids.append(job_id)
        return job_ids

    def sync_status(self) -> list[JsonDict]:
        return list(reversed(self.syncs))

    def queue_status(self) -> list[JsonDict]:
        return [{"name": "evaluate", "queued": len(self.reevaluations), "failed": len(self.failed)}]

    def failed_jobs(self) -> list[JsonDict]:
        return list(self.failed.values())

    def retry_failed(self, job_id: str) -> str:
        with self._lock:
            if self.failed.pop(job_id, None) is None:
                raise NotFound(f"no failed job with id {job_id!r}")
            self.retried.append(job_id)
        return job_id

    def rate_limit_budget(self) -> list[JsonDict]:
        return [{"crm": crm, "account": "default", "remaining": None} for crm in sorted(self.objects)]

    def upload_rules(self, text: str, filename: str,
                     uploaded_by: str) -> tuple[RulesVersion | None, list[RuleProblem]]:
        problems = self.validate_rules(text, filename)
        if problems:
            return None, problems
        with self._lock:
            version = RulesVersion(version=len(self._versions) + 1, filename=filename,
                                   uploaded_by=uploaded_by, uploaded_at=datetime.now(UTC),
                                   active=False, sha256=hashlib.sha256(text.encode()).hexdigest())
            self._versions.append(version)
            self._texts[version.version] = text
        return version, []

    def activate_rules(self, version: int) -> RulesVersion:
        with self._lock:
            if not 1 <= version <= len(self._versions):
                raise NotFound(f"no rules version {version}")
            self._versions = [_with_active(v, v.version == version) for v in self._versions]
            return self._versions[version - 1]

    def list_rules_versions(self) -> list[RulesVersion]:
        return list(reversed(self._versions))

    def active_rules_text(self) -> str | None:
        """The text of the active version (for tests), or ``None`` when none is active."""
        active = [v.version for v in self._versions if v.active]
        return self._texts[active[0]] if active else None

    def record_history(self, crm: str, object: str, record_id: str) -> JsonDict:
        history = self.histories.get((crm, object, record_id))
        if history is None:
            raise NotFound(f"Baton has no record {crm}/{object}/{record_id}")
        return history

    def dry_run(self, rules_text: str, filename: str) -> tuple[JsonDict | None, list[RuleProblem]]:
        problems = self.validate_rules(rules_text, filename)
        if problems:
            return None, problems
        # No snapshots are kept in memory: the report has the real shape and no rows.
        return {"filename": filename, "records": 0, "transitions": [], "backward": [],
                "recycled": [], "diffs": []}, []

    def readiness(self) -> list[ComponentCheck]:
        checks = [ComponentCheck("database", self.database_ok,
                                 "" if self.database_ok else "database not reachable")]
        if self.redis is not None:
            checks.append(_ping(self.redis))
        return checks

    def _check_object(self, crm: str, object: str) -> None:
        if crm not in self.objects:
            raise InvalidRequest(f"unknown CRM {crm!r}: use one of {sorted(self.objects)}")
        if object not in self.objects[crm]:
            raise InvalidRequest(f"Baton does not sync {crm} object {object!r}: "
                                 f"use one of {sorted(self.objects[crm])}")


def _with_active(version: RulesVersion, active: bool) -> RulesVersion:
    return RulesVersion(version.version, version.filename, version.uploaded_by, version.uploaded_at,
                        active, version.sha256)


def _ping(redis: Redis) -> ComponentCheck:
    try:
        redis.ping()
    except RedisError as exc:
        # The class name says what failed; the message may hold a URL with a password.
        return ComponentCheck("redis", False, f"redis not reachable ({type(exc).__name__})")
    return ComponentCheck("redis", True)
