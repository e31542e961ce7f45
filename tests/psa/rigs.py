"""One way to stand up each PSA fake and the connection that points at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from psa.connection import PsaConnection, from_environment
from tests.fakes.psa_autotask import FakeAutotask, autotask_env, fake_autotask
from tests.fakes.psa_common import FakePsa
from tests.fakes.psa_connectwise import FakeConnectWise, connectwise_env, fake_connectwise
from tests.fakes.psa_halo import FakeHalo, fake_halo, halo_env

VENDORS = ("connectwise", "autotask", "halo")
TICKET_ID = 4242
SECRETS = {"connectwise": "cw-private-S3CRET-key", "autotask": "at-secret-S3CRET-value", "halo": "halo-client-S3CRET-value"}


@dataclass
class Rig:
    vendor: str
    fake: FakePsa
    env: dict[str, str]  # Settings keywords

    @property
    def ticket_ref(self) -> str:
        """How an engineer types this PSA's ticket in the modal."""
        return self.fake.tickets[TICKET_ID].number

    @property
    def secret(self) -> str:
        return SECRETS[self.vendor]

    def connection(self, **overrides: str) -> PsaConnection:
        values: dict[str, Any] = {**self.env, **overrides}
        return from_environment({("HANDOFF_" + k.upper()): v for k, v in values.items()})


_FAKES = {
    "connectwise": (FakeConnectWise, fake_connectwise, connectwise_env),
    "autotask": (FakeAutotask, fake_autotask, autotask_env),
    "halo": (FakeHalo, fake_halo, halo_env),
}


@asynccontextmanager
async def psa_rig(vendor: str, **fake_kwargs) -> AsyncIterator[Rig]:
    cls, serve_fake, env = _FAKES[vendor]
    fake = cls(**fake_kwargs)
    fake.add_ticket(TICKET_ID, title="Mail flow broken for finance", company="Contoso Ltd")
    fake.add_ticket(77, title="Old printer", company="Contoso Ltd", closed=True)
    async with serve_fake(fake) as served:
        yield Rig(vendor, served, env(served))
