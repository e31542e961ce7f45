"""The bot's Azure identity becomes the Agents SDK's own auth settings: single-tenant by default,
a user-assigned managed identity without a secret, multi-tenant only when asked for."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from microsoft_agents.authentication.msal import MsalAuth
from microsoft_agents.hosting.core import AuthTypes
from msal import ManagedIdentityClient

from bot.config import Settings, SettingsError
from bot.teams.auth import auth_configuration, connection_manager

APP_ID = "8f0b6c3e-1d2a-4b5c-9e7f-0a1b2c3d4e5f"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def settings(**values) -> Settings:
    return Settings(database_url="sqlite+aiosqlite:///:memory:", microsoft_app_id=APP_ID, **values)


def test_single_tenant_is_the_default_and_uses_the_client_secret_in_the_bots_tenant():
    config = auth_configuration(settings(microsoft_app_password="s3cret", microsoft_app_tenant_id=TENANT))
    assert (config.AUTH_TYPE, config.CLIENT_ID, config.CLIENT_SECRET, config.TENANT_ID) == (
        AuthTypes.client_secret, APP_ID, "s3cret", TENANT)
    assert config.VALIDATE_ISSUER is True


def test_a_single_tenant_bot_without_its_tenant_is_refused_with_what_to_set():
    with pytest.raises(SettingsError, match="MICROSOFT_APP_TENANT_ID.*MICROSOFT_APP_TYPE=MultiTenant"):
        auth_configuration(settings(microsoft_app_password="s3cret"))


def test_user_assigned_managed_identity_goes_through_msal_managed_identity_with_no_secret():
    configured = settings(microsoft_app_type="userassignedmsi", microsoft_app_tenant_id=TENANT)
    config = auth_configuration(configured)
    assert (config.AUTH_TYPE, config.CLIENT_ID, config.CLIENT_SECRET, config.TENANT_ID) == (
        AuthTypes.user_managed_identity, APP_ID, None, TENANT)
    provider = connection_manager(configured, config).get_default_connection()
    assert isinstance(provider, MsalAuth)
    # The client MSAL would ask for tokens: the managed identity named by the bot's app id (nothing is called).
    client = provider._create_client_application()
    assert isinstance(client, ManagedIdentityClient)
    assert client._managed_identity["Id"] == APP_ID


def test_a_managed_identity_with_a_password_is_refused():
    with pytest.raises(SettingsError, match="MICROSOFT_APP_PASSWORD"):
        auth_configuration(settings(microsoft_app_type="UserAssignedMSI", microsoft_app_tenant_id=TENANT,
                                    microsoft_app_password="s3cret"))


def test_multi_tenant_bots_keep_working_when_asked_for():
    config = auth_configuration(settings(microsoft_app_type="MultiTenant", microsoft_app_password="s3cret"))
    assert (config.AUTH_TYPE, config.TENANT_ID) == (AuthTypes.client_secret, "botframework.com")


def test_an_unknown_app_type_is_one_line_naming_the_setting(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MICROSOFT_", "HANDOFF_", "SLACK_"))}
    env.update(MICROSOFT_APP_TYPE="Shared", HANDOFF_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/h.db")
    result = subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "MICROSOFT_APP_TYPE" in result.stderr and "Traceback" not in result.stderr
