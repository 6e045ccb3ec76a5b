from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sandbox_hubspot.support import Portal, running_portal


@pytest.fixture(scope="module")
def portal() -> Iterator[Portal]:
    with running_portal() as running:
        yield running


@pytest.fixture(autouse=True)
def _clean(portal: Portal) -> Iterator[None]:
    portal.reset()
    yield
    portal.reset()
