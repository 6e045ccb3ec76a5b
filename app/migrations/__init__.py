"""Alembic migration environment of the store, shipped inside the package.

Run it through :func:`app.store.migrate.migrate` (or ``Store.migrate()``); there is no alembic.ini:
the configuration is built in code with ``script_location`` pointing at this folder.
"""
