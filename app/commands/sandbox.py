"""``baton sandbox``: run the Salesforce and HubSpot sandboxes."""
from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

import click


@click.group()
def sandbox() -> None:
    """CRM sandboxes that behave like Salesforce and HubSpot on the wire."""


@sandbox.command("up")
@click.option("--salesforce-port", type=int, default=0, show_default=True, help="0 picks a free port.")
@click.option("--hubspot-port", type=int, default=0, show_default=True, help="0 picks a free port.")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the generated data.")
@click.option("--records", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Number of leads/contacts; accounts are a tenth of it, opportunities a fifth.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--state-dir", type=click.Path(path_type=Path), default=Path(".baton/sandbox"), show_default=True,
              help="Where the generated TLS certificate is written.")
@click.option("--hubspot-tls/--no-hubspot-tls", default=False, show_default=True)
def up(salesforce_port: int, hubspot_port: int, seed: int, records: int, host: str, state_dir: Path,
       hubspot_tls: bool) -> None:
    """Run both sandboxes in the foreground until interrupted.

    The first line of standard output is one JSON object with what a client needs to connect.
    """
    from connectors.sandbox.runner import start_sandboxes

    try:
        running = start_sandboxes(seed=seed, records=records, salesforce_port=salesforce_port,
                                  hubspot_port=hubspot_port, host=host, state_dir=state_dir,
                                  hubspot_tls=hubspot_tls, webhooks=True)
    except OSError as exc:
        raise click.ClickException(f"cannot start the sandboxes: {exc.strerror or exc} "
                                   "(is the port already in use? pass --salesforce-port/--hubspot-port 0)")
    click.echo(json.dumps(running.info), nl=True)
    sys.stdout.flush()
    click.echo(f"Salesforce sandbox on {running.info['salesforce']['instance_url']}, HubSpot sandbox on "
               f"{running.info['hubspot']['host']} ({records} leads, seed {seed}). Ctrl-C to stop.", err=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    running.stop()
