"""Loading Baton's configuration: one YAML file plus environment variables for secrets.

- The file is ``--file``, else ``$BATON_CONFIG``, else ``./baton.yaml``.
- Any string may reference the environment as ``${NAME}`` (``${NAME:-default}`` gives a default;
  ``$${`` is a literal ``${``).
- Secrets are never written literally in the file: a secret key must be absent (its standard
  variable is read) or a ``${NAME}`` reference. The standard variable, when set, always wins.
- Every problem is reported as ``FILE:LINE: key.path: message`` with a hint, never with a value.

The typed shape is :class:`app.config_schema.BatonConfig`.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from app.config_schema import (
    DEFAULT_DATABASE_URL,
    BatonConfig,
    CrmConnection,
    HubSpotConfig,
    MissingSecret,
    SalesforceConfig,
)
from app.config_yaml import (
    ConfigError,
    ConfigProblem,
    Path_,
    YamlDocument,
    delete_path,
    dotted_path,
    get_path,
    read_document,
    set_path,
)

__all__ = [
    "BatonConfig",
    "CheckReport",
    "ConfigError",
    "ConfigProblem",
    "check_config",
    "config_path",
    "default_config_for_sandboxes",
    "load_config",
    "missing_secrets",
    "redacted_dict",
]

DEFAULT_CONFIG_FILE = "baton.yaml"
CONFIG_ENV = "BATON_CONFIG"

# Secret keys and the standard variable each is read from.
SECRET_ENV: dict[Path_, str] = {
    ("salesforce", "password"): "BATON_SALESFORCE_PASSWORD",
    ("salesforce", "security_token"): "BATON_SALESFORCE_SECURITY_TOKEN",
    ("salesforce", "session_id"): "BATON_SALESFORCE_SESSION_ID",
    ("salesforce", "consumer_secret"): "BATON_SALESFORCE_CONSUMER_SECRET",
    ("salesforce", "flow_secret"): "BATON_SALESFORCE_FLOW_SECRET",
    ("hubspot", "access_token"): "BATON_HUBSPOT_ACCESS_TOKEN",
    ("hubspot", "client_secret"): "BATON_HUBSPOT_CLIENT_SECRET",
    ("admin_token",): "BATON_ADMIN_TOKEN",
}
# URLs that may embed a password: literal is fine, a literal password inside is not.
URL_ENV: dict[Path_, str] = {("database_url",): "BATON_DATABASE_URL", ("redis_url",): "REDIS_URL"}
# Relative paths in the file are relative to the file, not to the working directory.
FILE_PATHS: tuple[Path_, ...] = (("rules", "file"), ("salesforce", "ca_cert"), ("hubspot", "ca_cert"))

# Object keys older files may still have, with (message, hint) saying where that setting lives now.
# Stage values belong to the rules file alone: two copies could disagree, and the pipeline reads only
# the rules file's (rules.mapping).
RETIRED_OBJECT_KEYS: dict[str, tuple[str, str]] = {
    "stage_values": (
        "stage values are no longer set in the configuration",
        (
            "stage values now live in the rules file under each stage's `crm:` (e.g. "
            "`crm: {salesforce: {Status: Qualified}}` in rules/playbooks/the-model.yaml); delete this key"
        ),
    ),
    "pipeline": (
        "the HubSpot deal pipeline is no longer set in the configuration",
        (
            "it now lives in the rules file under each deal stage's `crm:` (e.g. "
            "`crm: {hubspot: {pipeline: default, dealstage: qualifiedtobuy}}`); delete this key"
        ),
    ),
}

_URL_PASSWORD = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/@:]*:([^@/]*)@")


# ------------------------------------------------------------------------------------- secret policy


def _parent_exists(data: Any, path: Path_) -> bool:
    return len(path) == 1 or isinstance(get_path(data, path[:-1]), dict)


def _is_pure_reference(text: str) -> bool:
    return bool(re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}", text.strip()))


def _apply_secret_policy(document: YamlDocument, env: Mapping[str, str]) -> dict[str, str]:
    """Refuse literal secrets, fill secrets from their standard variables, and return which
    variable each secret comes from (for reporting missing ones by name)."""
    sources: dict[str, str] = {}
    data = document.data
    for path, standard in {**SECRET_ENV, **URL_ENV}.items():
        if not _parent_exists(data, path):
            continue
        written = [raw for where, raw in document.raw_text.items() if where[: len(path)] == path]
        if any(_is_literal_secret(path, raw) for raw in written) or (
            written and path not in document.raw_text
        ):
            delete_path(data, path)  # drop it so no later step can echo it
            document.problem(
                path,
                "a secret is written literally in the file",
                f"remove it, set the environment variable {standard} (or write "
                f"`{path[-1]}: ${{{standard}}}`), and rotate the exposed secret",
            )
        references = document.references.get(path, [])
        sources[dotted_path(path)] = standard if standard in env or not references else references[0]
        if standard in env:
            set_path(data, path, env[standard])
        elif path in document.unset:
            delete_path(data, path)  # reported as a missing secret, by name
    return sources


def _is_literal_secret(path: Path_, raw: str) -> bool:
    if path in URL_ENV:
        match = _URL_PASSWORD.match(raw)
        return bool(match and match.group(1) and not _is_pure_reference(match.group(1)))
    return bool(raw.strip()) and not _is_pure_reference(raw)


def _unset_references(document: YamlDocument, env: Mapping[str, str]) -> None:
    """A ``${NAME}`` that is not set is an error, except for secrets (reported later as missing)
    and URLs whose standard variable is set (it wins anyway). A URL is never silently replaced by
    the default: a PostgreSQL deployment must not quietly run on a local SQLite file."""
    for path, names in document.unset.items():
        standard_is_set = path in URL_ENV and URL_ENV[path] in env
        if path not in SECRET_ENV and not standard_is_set:
            document.problem(
                path,
                f"environment variable {names[0]} is not set",
                f"set {names[0]}, or write ${{{names[0]}:-default}} to give a default",
            )


def _resolve_relative_paths(document: YamlDocument, base: Path) -> None:
    for path in FILE_PATHS:
        value = get_path(document.data, path)
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            set_path(document.data, path, str((base / value).resolve()))


def _retired_keys(document: YamlDocument) -> None:
    """Report (and drop, so validation does not report them again) object keys that moved elsewhere."""
    for crm in ("salesforce", "hubspot"):
        objects = get_path(document.data, (crm, "objects"))
        if not isinstance(objects, dict):
            continue
        for name, settings in objects.items():
            if not isinstance(settings, dict):
                continue
            for key in [k for k in settings if k in RETIRED_OBJECT_KEYS]:
                message, hint = RETIRED_OBJECT_KEYS[key]
                document.problem((crm, "objects", name, key), message, hint)
                del settings[key]


# ---------------------------------------------------------------------------------- validation errors


def _all_section_keys() -> set[str]:
    keys: set[str] = set()

    def visit(model: type[BaseModel]) -> None:
        for name, info in model.model_fields.items():
            keys.add(name)
            for candidate in getattr(info.annotation, "__args__", ()) + (info.annotation,):
                if (
                    isinstance(candidate, type)
                    and issubclass(candidate, BaseModel)
                    and candidate is not model
                ):
                    visit(candidate)

    visit(BatonConfig)
    return keys


_HINTS = {
    "missing": "add this key",
    "int_parsing": "write a whole number, e.g. 30",
    "int_type": "write a whole number, e.g. 30",
    "float_parsing": "write a number, e.g. 30",
    "float_type": "write a number, e.g. 30",
    "bool_parsing": "write true or false",
    "bool_type": "write true or false",
    "string_type": "write text (quote it if it looks like a number or a date)",
    "dict_type": "this key needs nested keys (indented lines below it)",
    "model_type": "this key needs nested keys (indented lines below it)",
    "model_attributes_type": "this key needs nested keys (indented lines below it)",
    "greater_than": "use a positive number",
    "less_than_equal": "use a smaller number",
    "greater_than_equal": "use a larger number",
}


def _validation_problems(exc: ValidationError, document: YamlDocument) -> list[ConfigProblem]:
    merged: dict[tuple[int | None, str], list[str]] = {}
    hints: dict[tuple[int | None, str], str] = {}
    for error in exc.errors(include_url=False, include_input=False, include_context=True):
        path = _walk(document.data, tuple(error["loc"]), error["type"])
        message = str(error["msg"]).removeprefix("Value error, ")
        key = (document.line_of(path), dotted_path(path))
        if message not in merged.setdefault(key, []):
            merged[key].append(message)
        hints.setdefault(key, _hint(error["type"], path))
    return [
        ConfigProblem(document.file, line, dotted, "; or ".join(messages), hints[(line, dotted)])
        for (line, dotted), messages in merged.items()
    ]


def _walk(data: Any, loc: Path_, error_type: str) -> Path_:
    """The part of a pydantic error location that names keys of the file (drops union tags)."""
    walked: list[Any] = []
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            if error_type == "missing" and isinstance(data, dict):
                walked.append(part)
            break
        walked.append(part)
    return tuple(walked)


def _hint(error_type: str, path: Path_) -> str:
    if error_type == "extra_forbidden" and path:
        close = difflib.get_close_matches(str(path[-1]), sorted(_all_section_keys()), n=1, cutoff=0.75)
        suggestion = f"did you mean `{close[0]}`? " if close else ""
        return f"{suggestion}unknown key; see docs/configuration.md for the keys of this section"
    if error_type == "missing" and path:
        parent = dotted_path(path[:-1]) or "the top level"
        return f"add `{path[-1]}:` under {parent}"
    if error_type == "literal_error":
        return "use one of the values listed"
    return _HINTS.get(error_type, "see docs/configuration.md")


# -------------------------------------------------------------------------------------------- loading


def config_path(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] = os.environ) -> Path:
    """Which file to read: ``path``, else ``$BATON_CONFIG``, else ``./baton.yaml``."""
    return Path(path or env.get(CONFIG_ENV) or DEFAULT_CONFIG_FILE).expanduser()


def load_config(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] = os.environ
) -> BatonConfig:
    """Read, resolve and validate the configuration. Raises :class:`ConfigError` listing every
    problem as ``FILE:LINE: key: message`` (no secret values, no traceback needed)."""
    file = config_path(path, env)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        hint = f"create it from baton.example.yaml, pass --file, or set {CONFIG_ENV}"
        raise ConfigError(
            [ConfigProblem(str(file), None, "", f"cannot read the file ({exc.strerror})", hint)]
        ) from None
    except UnicodeDecodeError:
        hint = "save the file as UTF-8 text"
        raise ConfigError([ConfigProblem(str(file), None, "", "the file is not UTF-8 text", hint)]) from None
    document = read_document(text, str(file), env)
    if document.data is None:
        raise ConfigError(document.problems)
    _unset_references(document, env)
    sources = _apply_secret_policy(document, env)
    _resolve_relative_paths(document, file.resolve().parent)
    _retired_keys(document)
    config: BatonConfig | None = None
    try:
        config = BatonConfig.model_validate(document.data)
    except ValidationError as exc:
        document.problems.extend(_validation_problems(exc, document))
    if document.problems or config is None:
        raise ConfigError(sorted(document.problems, key=lambda p: (p.line or 0, p.path))) from None
    config._source = file
    config._secret_env = sources
    return config


# --------------------------------------------------------------------------------- checks and secrets


def _needed(config: BatonConfig) -> list[tuple[str, bool, str]]:
    """(key path, required, why) of every secret the enabled features use."""
    needed: list[tuple[str, bool, str]] = [("admin_token", False, "the admin API (baton serve)")]
    sf = config.crm("salesforce")
    if isinstance(sf, SalesforceConfig):
        auth_needs = {"session": ["session_id"], "password": ["password"], "oauth": ["consumer_secret"]}[
            sf.auth
        ]
        needed += [(f"salesforce.{k}", True, f"salesforce auth: {sf.auth}") for k in auth_needs]
        if sf.auth == "password":
            needed.append(
                ("salesforce.security_token", False, "password logins from outside trusted IP ranges")
            )
        needed.append(("salesforce.flow_secret", False, "Salesforce Flow webhooks"))
    hs = config.crm("hubspot")
    if isinstance(hs, HubSpotConfig):
        needed += [
            ("hubspot.access_token", True, "every HubSpot API call"),
            ("hubspot.client_secret", False, "verifying HubSpot webhook signatures"),
        ]
    return needed


def missing_secrets(config: BatonConfig) -> list[MissingSecret]:
    """Secrets the enabled features need but that have no value, each named by its variable."""
    standard = {dotted_path(path): name for path, name in SECRET_ENV.items()}
    missing = []
    for dotted, required, why in _needed(config):
        value: Any = config
        for part in dotted.split("."):
            value = getattr(value, part)
        if value is None or not value.get_secret_value():
            env_name = config._secret_env.get(dotted, standard[dotted])
            missing.append(MissingSecret(env=env_name, path=dotted, required=required, why=why))
    return missing


@dataclass
class CheckReport:
    """What ``baton config check`` found: blocking problems and informational notes."""

    file: str
    config: BatonConfig | None
    problems: list[ConfigProblem]
    notes: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_config(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] = os.environ,
    *,
    require_secrets: bool = True,
) -> CheckReport:
    """Validate like :func:`load_config`, then check referenced files exist and secrets are set."""
    file = str(config_path(path, env))
    try:
        config = load_config(path, env)
    except ConfigError as exc:
        return CheckReport(file, None, exc.problems, [])
    document = read_document(config_path(path, env).read_text(encoding="utf-8"), file, env)
    problems = _missing_files(config, document)
    notes: list[str] = []
    for secret in missing_secrets(config):
        text = f"missing secret: set the environment variable {secret.env} (for {secret.why})"
        if secret.required and require_secrets:
            line = document.line_of(tuple(secret.path.split(".")))
            hint = f"export {secret.env}=... before starting Baton"
            problems.append(ConfigProblem(file, line, secret.path, text, hint))
        else:
            notes.append(text)
    if not config.enabled_crms():
        notes.append("no CRM is enabled: add a salesforce or hubspot section")
    return CheckReport(file, config, problems, notes)


def _missing_files(config: BatonConfig, document: YamlDocument) -> list[ConfigProblem]:
    hint = "fix the path (relative paths are relative to this file)"
    return [
        ConfigProblem(document.file, document.line_of(tuple(key.split("."))), key, "file not found", hint)
        for key, value in _file_settings(config)
        if value is not None and not Path(value).is_file()
    ]


def _file_settings(config: BatonConfig) -> list[tuple[str, Path | None]]:
    settings: list[tuple[str, Path | None]] = [("rules.file", config.rules.file)]
    for name in ("salesforce", "hubspot"):
        connection = getattr(config, name)
        if isinstance(connection, CrmConnection) and connection.enabled:
            settings.append((f"{name}.ca_cert", connection.ca_cert))
    return settings


# ------------------------------------------------------------------------------- display and sandboxes


def redacted_dict(config: BatonConfig) -> dict[str, Any]:
    """The effective configuration as plain data with every secret hidden (for ``config show``)."""
    from app.store.engine import redacted_url

    data = config.model_dump(mode="json")
    for name in ("salesforce", "hubspot"):
        if isinstance(data.get(name), dict):  # connection settings first, the long object maps last
            data[name] = dict(
                sorted(data[name].items(), key=lambda kv: kv[0] in ("schedule", "limits", "objects"))
            )
    for path in URL_ENV:
        secret = getattr(config, path[0])
        data[path[0]] = redacted_url(secret.get_secret_value()) if secret is not None else None
    for path in SECRET_ENV:
        parent = get_path(data, path[:-1]) if len(path) > 1 else data
        if isinstance(parent, dict) and parent.get(path[-1]) is not None:
            parent[path[-1]] = "**********"
    return data


def default_config_for_sandboxes(
    sandbox_info: dict[str, Any],
    *,
    database_url: str | None = None,
    redis_url: str | None = None,
    rules_file: str | None = None,
) -> BatonConfig:
    """A complete configuration for the local sandboxes (what ``baton sandbox up`` prints), so the
    demo runs with no file. Secrets come from ``sandbox_info`` (they are the sandboxes' own)."""
    data: dict[str, Any] = {"database_url": database_url or DEFAULT_DATABASE_URL}
    if redis_url:
        data["redis_url"] = redis_url
    if rules_file:
        data["rules"] = {"file": rules_file}
    salesforce = sandbox_info.get("salesforce")
    if salesforce:
        data["salesforce"] = _sandbox_salesforce(salesforce)
    hubspot = sandbox_info.get("hubspot")
    if hubspot:
        data["hubspot"] = {
            k: hubspot[k]
            for k in ("host", "access_token", "client_secret", "ca_cert", "portal_id", "app_id")
            if hubspot.get(k) is not None
        }
    try:
        return BatonConfig.model_validate(data)
    except ValidationError as exc:
        document = YamlDocument("<sandbox info>", data=data)
        raise ConfigError(_validation_problems(exc, document)) from None


def _sandbox_salesforce(info: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "instance_url",
        "username",
        "password",
        "security_token",
        "session_id",
        "ca_cert",
        "organization_id",
        "flow_secret",
        "api_version",
    )
    section = {k: info[k] for k in keys if info.get(k) is not None}
    # A password login exercises the real SOAP login flow; a bare session id is the fallback.
    section["auth"] = "password" if info.get("username") and info.get("password") else "session"
    return section
