from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.sandbox.server import TlsFiles
from tests.sandbox_salesforce.support import LiveSandbox, start, tls_files


@pytest.fixture(scope="session")
def sf_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return tls_files(tmp_path_factory.mktemp("sf-tls"))


@pytest.fixture()
def live(sf_tls: TlsFiles) -> Iterator[LiveSandbox]:
    """A fresh 300-lead org per test (state and faults never leak between tests)."""
    yield from start(sf_tls)


@pytest.fixture()
def live500(sf_tls: TlsFiles) -> Iterator[LiveSandbox]:
    """A 500-lead org, for tie groups larger than two 200-record pages."""
    yield from start(sf_tls, leads=500)
