"""``baton serve``: run the web service with Werkzeug's development server.

For production run it under gunicorn instead (the factory reads its settings from the
environment): ``gunicorn --workers 4 --bind 0.0.0.0:8000 'app.web:create_app()'``.
"""
from __future__ import annotations

import logging

import click


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="0 picks a free port.")
@click.option("--in-memory", is_flag=True,
              help="Use in-process services (requests are recorded, nothing is processed): for "
                   "trying the API without workers.")
def serve(host: str, port: int, in_memory: bool) -> None:
    """Serve the webhooks, the admin API and the health checks (development server)."""
    from werkzeug.serving import make_server

    from app.web import create_app
    from app.web.settings import SettingsError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = create_app({"BATON_SERVICES_FACTORY": "memory"} if in_memory else None)
    except (SettingsError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        server = make_server(host, port, app, threaded=True)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc} "
                                   "(is the port in use? pass --port 0)") from None
    click.echo(f"Baton service on http://{host}:{server.server_port} (development server; use "
               "gunicorn 'app.web:create_app()' in production). Ctrl-C to stop.", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
