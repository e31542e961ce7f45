"""A workspace's PSA connection: which PSA, where, and its credentials (encrypted when stored).

Secrets are kept in `PsaConnection.secrets` only: `describe()` and `repr()` never show them, and the
stored form encrypts them with Fernet (cryptography) under HANDOFF_SECRET_KEY.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from cryptography.fernet import Fernet, InvalidToken

from core.psa_form import ASSIGN, FIELDS, KINDS, OPTIONAL  # the form's rules: which settings each PSA needs
from psa.autotask import DISCOVERY_URL, Autotask, AutotaskConfig
from psa.client import PsaClient
from psa.connectwise import ConnectWise, ConnectWiseConfig
from psa.halo import Halo, HaloConfig
from psa.http import Exchange


class ConfigError(ValueError):
    """A connection's settings are incomplete or unreadable (the message names fields, never values)."""


@dataclass(frozen=True)
class PsaConnection:
    kind: str
    settings: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    assign: bool | None = None  # the workspace's choice; None: HANDOFF_PSA_ASSIGN decides (psa/directory.py)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"HANDOFF_PSA must be one of {', '.join(KINDS)}")
        plain, secret = FIELDS[self.kind]
        optional = OPTIONAL.get(self.kind, set())
        missing = [n for n in plain if n not in optional and not self.settings.get(n)]
        missing += [n for n in secret if not self.secrets.get(n)]
        if missing:
            names = ", ".join(f"HANDOFF_PSA_{n.upper()}" for n in missing)
            raise ConfigError(f"the {self.kind} connection is missing {names}")

    def describe(self) -> str:
        """What admins may see: the PSA and where it is, never a credential."""
        where = self.settings.get("url") or "zone discovered from the API user"
        return f"{self.kind} at {where}"

    def secret_values(self) -> tuple[str, ...]:
        return tuple(v for v in self.secrets.values() if v)

    def client(self, session: aiohttp.ClientSession, *, timeout_s: float, cache: dict[str, Any]) -> PsaClient:
        """A client over `session`; `cache` keeps discovered zones and tokens between jobs."""
        s, k = self.settings, self.secrets
        if self.kind == "connectwise":
            config = ConnectWiseConfig(url=s["url"], company=s["company"], public_key=s["public_key"],
                                       private_key=k["private_key"], client_id=s["client_id"])
            return ConnectWise(config, Exchange(session, "ConnectWise", timeout_s, config.secrets))
        if self.kind == "autotask":
            config = AutotaskConfig(username=s["username"], secret=k["secret"], integration_code=k["integration_code"],
                                    url=s.get("url") or None, discovery_url=s.get("discovery_url") or DISCOVERY_URL)
            return Autotask(config, Exchange(session, "Autotask", timeout_s, config.secrets),
                            zones=cache.setdefault("zones", {}))
        config = HaloConfig(url=s["url"], auth_url=s["auth_url"], client_id=s["client_id"],
                            client_secret=k["client_secret"], tenant=s.get("tenant") or None)
        return Halo(config, Exchange(session, "Halo", timeout_s, config.secrets), tokens=cache.setdefault("tokens", {}))


def from_environment(values: dict[str, str | None]) -> PsaConnection | None:
    """The single-workspace connection from HANDOFF_PSA and HANDOFF_PSA_* (None when HANDOFF_PSA is unset)."""
    kind = (values.get("HANDOFF_PSA") or "").strip().lower()
    if not kind:
        return None
    if kind not in KINDS:
        raise ConfigError(f"HANDOFF_PSA must be one of {', '.join(KINDS)}, not {kind!r}")
    plain, secret = FIELDS[kind]

    def get(name: str) -> str:
        return (values.get(f"HANDOFF_PSA_{name.upper()}") or "").strip()

    return PsaConnection(kind, {n: get(n) for n in plain if get(n)}, {n: get(n) for n in secret if get(n)})


class Vault:
    """Encrypts connection secrets for the database (Fernet: AES-128-CBC + HMAC-SHA256)."""

    def __init__(self, key: str | None) -> None:
        if not key:
            raise ConfigError("HANDOFF_SECRET_KEY is not set: it is needed to store PSA credentials "
                              "(make one with: python -c 'from cryptography.fernet import Fernet; "
                              "print(Fernet.generate_key().decode())')")
        try:
            self._fernet = Fernet(key.encode() if isinstance(key, str) else key)
        except (ValueError, TypeError):
            raise ConfigError("HANDOFF_SECRET_KEY is not a Fernet key (32 url-safe base64-encoded bytes)") from None

    def seal(self, connection: PsaConnection) -> dict[str, Any]:
        token = self._fernet.encrypt(json.dumps(connection.secrets).encode()).decode()
        switch = {} if connection.assign is None else {ASSIGN: connection.assign}
        return {"kind": connection.kind, "settings": {**connection.settings, **switch}, "secrets": token}

    def open(self, row: dict[str, Any]) -> PsaConnection:
        try:
            secrets = json.loads(self._fernet.decrypt(str(row["secrets"]).encode()))
        except InvalidToken:
            raise ConfigError("the stored PSA credentials cannot be read with this HANDOFF_SECRET_KEY") from None
        settings = dict(row["settings"] or {})
        assign = settings.pop(ASSIGN, None)
        return PsaConnection(row["kind"], *_secrets_apart(row["kind"], settings, secrets),
                             assign=assign if isinstance(assign, bool) else None)


def _secrets_apart(kind: str, settings: dict[str, str], secrets: dict[str, str]) -> tuple[dict, dict]:
    """A row saved before a field became secret (Autotask's tracking identifier was a plain setting) keeps
    it among the settings: read it as the secret it is (the next save seals it)."""
    secret_fields = FIELDS.get(kind, ((), ()))[1]
    moved = {n: settings.pop(n) for n in secret_fields if n in settings}
    return settings, {**moved, **secrets}
