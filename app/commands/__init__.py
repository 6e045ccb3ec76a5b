"""Click command groups, one module per area, registered by :mod:`app.cli`."""
