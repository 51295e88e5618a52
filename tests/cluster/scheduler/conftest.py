from collections.abc import AsyncIterator

import pytest

from .scheduler_fakes import FakeMaster


@pytest.fixture
async def fake_master() -> AsyncIterator[FakeMaster]:
    master = FakeMaster()
    await master.server.start()
    yield master
    for q in master.streams:
        q.put_nowait(None)
    await master.server.stop()
