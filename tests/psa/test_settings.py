"""The PSA settings service on PostgreSQL and SQLite: admins only, sealed at rest, a blank secret kept, a key
that cannot open what was saved, removal back to the environment's connection."""

from __future__ import annotations

import json

from cryptography.fernet import Fernet
from sqlalchemy import select

from core.models import PersonKey, Refused
from db import psa as psa_store
from db.tables import psa_connections
from core.psa_form import FormProblems, NoSecretKey, PsaRemoved, PsaSaved
from psa.directory import Directory
from psa.connection import Vault
from psa.settings import PsaSettings
from tests.factories import ACME
from tests.fakes.psa_autotask import CODE
from tests.psa.notes_rig import KEY, notes_rig
from tests.psa.rigs import psa_rig

ADA, EVE = PersonKey("U-ADA", "Ada"), PersonKey("U-EVE", "Eve")


def typed(rig, **changes):
    return {"url": rig.fake.url, "company": "acme", "public_key": "pubKEY123", "private_key": rig.secret,
            "client_id": "b2f1c0de-0000-4000-8000-000000000001", **changes}


async def test_admins_save_test_and_remove(db):
    async with psa_rig("connectwise") as env, psa_rig("connectwise") as own, notes_rig(db, env.connection()) as r:
        await r.handoffs.register_workspace(ACME, channel="C-ESC")
        await r.handoffs.bootstrap_admin(workspace=ACME, person=ADA)
        settings = PsaSettings(r.handoffs, r.directory, timeout_s=2)
        assert (await settings.status(ACME)).source == "environment"

        assert await settings.save(workspace=ACME, person=EVE, kind="connectwise", typed=typed(own)) == \
            Refused("not_admin")
        assert await settings.test(workspace=ACME, person=EVE) == Refused("not_admin")
        assert await settings.remove(workspace=ACME, person=EVE) == Refused("not_admin")

        saved = await settings.save(workspace=ACME, person=ADA, kind="connectwise", typed=typed(own))
        assert isinstance(saved, PsaSaved) and saved.status.source == "stored" and saved.status.where == own.fake.url
        assert own.secret not in repr(saved)
        again = await settings.save(workspace=ACME, person=ADA, kind="connectwise", typed=typed(own, private_key=""))
        assert isinstance(again, PsaSaved), "a blank secret keeps the saved one"
        assert (await settings.test(workspace=ACME, person=ADA)).outcome == "works"
        switched = await settings.save(workspace=ACME, person=ADA, kind="halo", typed={})
        assert isinstance(switched, FormProblems) and switched.problems["client_secret"] == "required"

        # Another key cannot open what was saved: said so, never guessed.
        other = Directory(db, vault=Vault(Fernet.generate_key().decode()), default=None)
        ws = await r.handoffs.register_workspace(ACME)
        assert (await other.status(ws.id)).source == "unreadable"
        assert (await PsaSettings(r.handoffs, other).test(workspace=ACME, person=ADA)).outcome == "unreadable"

        removed = await settings.remove(workspace=ACME, person=ADA)
        assert removed == PsaRemoved(True, removed.status) and removed.status.source == "environment"
        assert (await settings.remove(workspace=ACME, person=ADA)).had_one is False


async def test_no_secret_key_stores_nothing(db):
    async with psa_rig("connectwise") as own, notes_rig(db, secret_key=None) as r:
        await r.handoffs.bootstrap_admin(workspace=ACME, person=ADA)
        settings = PsaSettings(r.handoffs, r.directory)
        assert await settings.save(workspace=ACME, person=ADA, kind="connectwise", typed=typed(own)) == NoSecretKey()
        assert (await settings.status(ACME)).kind is None


async def test_autotasks_tracking_identifier_is_sealed_and_older_rows_still_read(db):
    """ApiIntegrationCode is a credential: encrypted with the secret; a row saved while it was a plain setting
    still works (read as the secret it is) and is sealed by the next save."""
    async with psa_rig("autotask") as own, notes_rig(db) as r:
        ws = await r.handoffs.register_workspace(ACME, channel="C-ESC")
        await r.handoffs.bootstrap_admin(workspace=ACME, person=ADA)
        settings = PsaSettings(r.handoffs, r.directory, timeout_s=2)
        connection = own.connection()
        await r.directory.save(workspace_id=ws.id, connection=connection)
        row = await _row(db)
        assert CODE not in row and own.secret not in row and "handoff-api@acme.example" in row
        assert (await r.directory.for_workspace(ws.id)) == connection
        assert (await settings.test(workspace=ACME, person=ADA)).outcome == "works"  # the fake checks the header

        # Saved before it was sealed: the code among the plain settings, only the secret encrypted.
        older = {"kind": "autotask", "settings": {**connection.settings, "integration_code": CODE},
                 "secrets": Fernet(KEY).encrypt(json.dumps({"secret": own.secret}).encode()).decode()}
        async with db.transaction() as conn:
            await psa_store.save_connection(conn, workspace_id=ws.id, sealed=older, person_id=None, now=r.clock())
        assert CODE in await _row(db)
        assert (await r.directory.for_workspace(ws.id)) == connection
        status = await settings.status(ACME)
        assert status.source == "stored" and "integration_code" not in status.values
        assert "integration_code" in status.saved_hidden
        assert (await settings.test(workspace=ACME, person=ADA)).outcome == "works"
        typed = {"username": connection.settings["username"], "secret": "", "integration_code": "",
                 "discovery_url": connection.settings["discovery_url"]}
        assert isinstance(await settings.save(workspace=ACME, person=ADA, kind="autotask", typed=typed), PsaSaved)
        assert CODE not in await _row(db), "the next save seals it"
        assert (await r.directory.for_workspace(ws.id)) == connection


async def _row(db) -> str:
    async with db.transaction() as conn:
        [row] = (await conn.execute(select(psa_connections))).mappings().all()
    return json.dumps(dict(row), default=str)


async def test_the_assign_switch_is_the_workspaces_whichever_connection_applies(db):
    """The environment's connection (HANDOFF_PSA_ASSIGN off): an admin's switch holds for this workspace only,
    without credentials; a connection saved later keeps it, and so does removing that connection again."""
    from core.psa_form import AssignSet
    from core.models import WorkspaceKey

    async with psa_rig("halo") as env, psa_rig("connectwise") as own, \
            notes_rig(db, env.connection(), assign=False) as r:
        ws = await r.handoffs.register_workspace(ACME, channel="C-ESC")
        other = await r.handoffs.register_workspace(WorkspaceKey("slack", "T-GLOBEX", "Globex"), channel="C-ESC")
        await r.handoffs.bootstrap_admin(workspace=ACME, person=ADA)
        settings = PsaSettings(r.handoffs, r.directory, timeout_s=2)
        assert (await settings.status(ACME)).assign is False and not (await settings.status(ACME)).assign_chosen

        assert await settings.set_assign(workspace=ACME, person=EVE, assign=True) == Refused("not_admin")
        done = await settings.set_assign(workspace=ACME, person=ADA, assign=True)
        assert isinstance(done, AssignSet) and done.status.assign and done.status.assign_chosen
        assert done.status.source == "environment"
        assert await settings.set_assign(workspace=ACME, person=ADA, assign=True) == done  # again: nothing new
        connection = await r.directory.for_workspace(ws.id)
        assert connection.kind == "halo" and r.directory.assigns(connection)
        assert not r.directory.assigns(await r.directory.for_workspace(other.id)), "another workspace: the server's"
        assert await _trail(r, "psa_assign_set") == [{"assign": True}]

        saved = await settings.save(workspace=ACME, person=ADA, kind="connectwise", typed=typed(own))
        assert saved.status.source == "stored" and saved.status.assign, "an older form without the switch keeps it"
        assert r.directory.assigns(await r.directory.for_workspace(ws.id))
        off = await settings.save(workspace=ACME, person=ADA, kind="connectwise",
                                  typed=typed(own, private_key="", assign="false"))
        assert off.status.assign is False and not r.directory.assigns(await r.directory.for_workspace(ws.id))
        assert "assign" not in await _row(db), "the switch is the workspace's, not sealed with the connection"

        removed = await settings.remove(workspace=ACME, person=ADA)
        assert removed.status.source == "environment" and removed.status.assign is False
        assert removed.status.assign_chosen
        assert await _trail(r, "psa_assign_set") == [{"assign": True}, {"assign": False}]


async def test_a_switch_saved_with_a_connection_before_it_was_a_workspace_setting_still_counts(db):
    async with psa_rig("connectwise") as own, notes_rig(db, assign=False) as r:
        ws = await r.handoffs.register_workspace(ACME, channel="C-ESC")
        await r.handoffs.bootstrap_admin(workspace=ACME, person=ADA)
        settings = PsaSettings(r.handoffs, r.directory, timeout_s=2)
        older = Vault(KEY).seal(own.connection())
        older["settings"]["assign"] = True  # how the switch was kept before
        async with db.transaction() as conn:
            await psa_store.save_connection(conn, workspace_id=ws.id, sealed=older, person_id=None, now=r.clock())
        assert r.directory.assigns(await r.directory.for_workspace(ws.id))
        assert (await settings.status(ACME)).assign

        resaved = await settings.save(workspace=ACME, person=ADA, kind="connectwise", typed=typed(own, private_key=""))
        assert resaved.status.assign and resaved.status.assign_chosen, "moved to the workspace on the next save"
        assert "assign" not in await _row(db)
        assert r.directory.assigns(await r.directory.for_workspace(ws.id))


async def _trail(r, kind: str) -> list[dict]:
    from db.tables import events

    async with r.handoffs.db.transaction() as conn:
        rows = (await conn.execute(select(events).where(events.c.kind == kind).order_by(events.c.id))).mappings().all()
    return [dict(e["data"]) for e in rows]
