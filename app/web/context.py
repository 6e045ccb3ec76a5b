"""What the views share, stored on the app as ``app.extensions["baton"]`` (Flask's extension slot)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from app.web.dedupe import EventDeduper
from app.web.services import Services

EXTENSION_KEY = "baton"


@dataclass(frozen=True, slots=True)
class WebContext:
    services: Services
    deduper: EventDeduper


def web_context() -> WebContext:
    """The current app's :class:`WebContext`."""
    context: WebContext = current_app.extensions[EXTENSION_KEY]
    return context
