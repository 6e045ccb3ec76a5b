"""The ``baton`` console command.

Each area registers its own click group from a module in :mod:`app.commands`; this module only
assembles them, so commands stay small and areas stay independent.
"""
from __future__ import annotations

import importlib

import click

# (module, attribute) of each command or group registered on ``baton``. A module that is not
# present yet is skipped, so the CLI keeps working while areas are added.
_COMMANDS: tuple[tuple[str, str], ...] = (
    ("app.commands.sandbox", "sandbox"),
    ("app.commands.rules", "rules"),
    ("app.commands.rules_plan", "rules"),      # adds `plan` to the rules group
    ("app.commands.config", "config"),
    ("app.commands.sync", "sync"),
    ("app.commands.status", "status"),
    ("app.commands.worker", "worker"),
    ("app.commands.demo", "demo"),
    ("app.commands.serve", "serve"),
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="baton")
def main() -> None:
    """Baton: run the revenue playbook (The Model) inside Salesforce and HubSpot."""


def _register() -> None:
    for module_name, attribute in _COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        main.add_command(getattr(module, attribute))


_register()


if __name__ == "__main__":
    main()
