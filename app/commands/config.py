"""``baton config``: check and show the configuration (secrets never printed)."""

from __future__ import annotations

import sys

import click
import yaml

from app.config import ConfigError, check_config, config_path, load_config, redacted_dict
from app.config_schema import BatonConfig

EXIT_INVALID = 2

_FILE_OPTION = click.option(
    "--file",
    "-f",
    "file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Configuration file (default: $BATON_CONFIG, else ./baton.yaml).",
)


@click.group("config")
def config() -> None:
    """Check and show Baton's configuration."""


@config.command("check")
@_FILE_OPTION
@click.option(
    "--allow-missing-secrets",
    is_flag=True,
    help="Report missing secret variables as notes instead of errors (e.g. in CI).",
)
def check(file: str | None, allow_missing_secrets: bool) -> None:
    """Validate the configuration file: exit 0 if usable, 2 with FILE:LINE errors if not."""
    try:
        report = check_config(file, require_secrets=not allow_missing_secrets)
    except Exception as exc:  # noqa: BLE001 - the message may hold a secret: name the type only
        click.echo(f"{config_path(file)}: internal error while checking ({type(exc).__name__})", err=True)
        sys.exit(EXIT_INVALID)
    for problem in report.problems:
        click.echo(f"error: {problem}", err=True)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    if not report.ok:
        count = len(report.problems)
        click.echo(f"{report.file}: invalid ({count} problem{'s' if count != 1 else ''})", err=True)
        sys.exit(EXIT_INVALID)
    assert report.config is not None
    summary = (
        ", ".join(
            f"{crm}: {', '.join(report.config.enabled_objects(crm)) or 'no objects'}"
            for crm in report.config.enabled_crms()
        )
        or "no CRM enabled"
    )
    click.echo(f"{report.file}: OK ({summary})")


def load_config_or_exit(file: str | None = None) -> BatonConfig:
    """The configuration for any command; on problems, print them (FILE:LINE, no secrets) and exit 2."""
    try:
        return load_config(file)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(EXIT_INVALID)


@config.command("show")
@_FILE_OPTION
def show(file: str | None) -> None:
    """Print the effective configuration (defaults filled in, secrets redacted) as YAML."""
    loaded = load_config_or_exit(file)
    click.echo(f"# effective configuration from {loaded.source}; secrets are redacted")
    click.echo(yaml.safe_dump(redacted_dict(loaded), sort_keys=False, allow_unicode=True), nl=False)
