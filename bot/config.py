"""Configuration from the environment (and .env). Names follow DESIGN.md's contract."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.schedule import (
    DEFAULT_FIRST_ACTION_NUDGE,
    DEFAULT_REMINDERS,
    ReminderPolicy,
    ScheduleError,
    parse_duration,
    parse_schedule,
)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./handoff.db"
DEFAULT_AI_MODEL = "claude-sonnet-4-5"
# Azure Bot identity types, as the Azure portal and Bot Framework configuration name them. New bots are
# single-tenant or use a user-assigned managed identity: Azure stopped creating multi-tenant bots on 2025-07-31.
APP_TYPES = ("SingleTenant", "UserAssignedMSI", "MultiTenant")
AppType = Literal["SingleTenant", "UserAssignedMSI", "MultiTenant"]


class SettingsError(ValueError):
    """Settings that cannot work together; the message names them and says what to do."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias=AliasChoices("HANDOFF_DATABASE_URL", "database_url"))
    host: str = Field("0.0.0.0", validation_alias=AliasChoices("HANDOFF_HOST", "host"))
    port: int = Field(3000, validation_alias=AliasChoices("HANDOFF_PORT", "port"))
    log_level: str = Field("INFO", validation_alias=AliasChoices("HANDOFF_LOG_LEVEL", "log_level"))

    # jobs
    worker_concurrency: int = Field(4, validation_alias=AliasChoices("HANDOFF_WORKER_CONCURRENCY", "worker_concurrency"))
    # Short, because the worker's heartbeat renews it every third of it while a job runs: a killed
    # replica's jobs are taken over within about this long.
    job_lease_s: float = Field(10.0, validation_alias=AliasChoices("HANDOFF_JOB_LEASE_S", "job_lease_s"))
    job_poll_s: float = Field(1.0, validation_alias=AliasChoices("HANDOFF_JOB_POLL_S", "job_poll_s"))
    shutdown_s: float = Field(20.0, validation_alias=AliasChoices("HANDOFF_SHUTDOWN_S", "shutdown_s"))

    # reminders, the assessment deadline, the pilot report
    reminders: str = Field(DEFAULT_REMINDERS, validation_alias=AliasChoices("HANDOFF_REMINDERS", "reminders"))
    first_action_nudge: str = Field(
        DEFAULT_FIRST_ACTION_NUDGE, validation_alias=AliasChoices("HANDOFF_FIRST_ACTION_NUDGE", "first_action_nudge")
    )
    ai_deadline_s: float = Field(60.0, gt=0, validation_alias=AliasChoices("HANDOFF_AI_DEADLINE_S", "ai_deadline_s"))
    baseline_minutes: float | None = Field(
        None, gt=0, validation_alias=AliasChoices("HANDOFF_BASELINE_MINUTES", "baseline_minutes")
    )

    # Slack
    slack_signing_secret: str | None = Field(None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "slack_signing_secret"))
    slack_bot_token: str | None = Field(None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "slack_bot_token"))
    slack_app_token: str | None = Field(None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "slack_app_token"))
    slack_api_url: str = Field("https://slack.com/api/", validation_alias=AliasChoices("SLACK_API_URL", "slack_api_url"))
    slack_channel: str | None = Field(None, validation_alias=AliasChoices("HANDOFF_SLACK_CHANNEL", "slack_channel"))
    # many workspaces: OAuth v2 install at /slack/install (needs SLACK_SIGNING_SECRET too)
    slack_client_id: str | None = Field(None, validation_alias=AliasChoices("SLACK_CLIENT_ID", "slack_client_id"))
    slack_client_secret: str | None = Field(None, validation_alias=AliasChoices("SLACK_CLIENT_SECRET", "slack_client_secret"))
    slack_redirect_uri: str | None = Field(None, validation_alias=AliasChoices("SLACK_REDIRECT_URI", "slack_redirect_uri"))
    slack_authorize_url: str = Field("https://slack.com/oauth/v2/authorize",
                                     validation_alias=AliasChoices("SLACK_AUTHORIZE_URL", "slack_authorize_url"))
    slack_oauth_state_ttl_s: int = Field(600, validation_alias=AliasChoices("SLACK_OAUTH_STATE_TTL_S", "slack_oauth_state_ttl_s"))
    # How long a name Slack shows is reused before users.info is asked again (a rename shows within it).
    slack_name_ttl_s: float = Field(300.0, ge=0, validation_alias=AliasChoices("HANDOFF_SLACK_NAME_TTL_S", "slack_name_ttl_s"))

    # Anthropic
    anthropic_api_key: str | None = Field(None, validation_alias=AliasChoices("ANTHROPIC_API_KEY", "anthropic_api_key"))
    anthropic_base_url: str | None = Field(None, validation_alias=AliasChoices("ANTHROPIC_BASE_URL", "anthropic_base_url"))
    ai_model: str = Field(DEFAULT_AI_MODEL, validation_alias=AliasChoices("HANDOFF_AI_MODEL", "ai_model"))
    ai_timeout_s: float = Field(30.0, validation_alias=AliasChoices("HANDOFF_AI_TIMEOUT_S", "ai_timeout_s"))
    ai_max_retries: int = Field(2, validation_alias=AliasChoices("HANDOFF_AI_MAX_RETRIES", "ai_max_retries"))
    ai_concurrency: int = Field(4, validation_alias=AliasChoices("HANDOFF_AI_CONCURRENCY", "ai_concurrency"))

    # Microsoft Teams
    microsoft_app_id: str | None = Field(None, validation_alias=AliasChoices("MICROSOFT_APP_ID", "microsoft_app_id"))
    microsoft_app_password: str | None = Field(None, validation_alias=AliasChoices("MICROSOFT_APP_PASSWORD", "microsoft_app_password"))
    microsoft_app_tenant_id: str | None = Field(None, validation_alias=AliasChoices("MICROSOFT_APP_TENANT_ID", "microsoft_app_tenant_id"))
    microsoft_app_type: AppType = Field("SingleTenant", validation_alias=AliasChoices("MICROSOFT_APP_TYPE", "microsoft_app_type"))
    teams_local_dev: bool = Field(False, validation_alias=AliasChoices("HANDOFF_TEAMS_LOCAL_DEV", "teams_local_dev"))
    teams_channel_id: str | None = Field(None, validation_alias=AliasChoices("HANDOFF_TEAMS_CHANNEL_ID", "teams_channel_id"))
    teams_service_url: str | None = Field(None, validation_alias=AliasChoices("HANDOFF_TEAMS_SERVICE_URL", "teams_service_url"))
    teams_jwks_url: str | None = Field(None, validation_alias=AliasChoices("HANDOFF_TEAMS_JWKS_URL", "teams_jwks_url"))
    teams_token_url: str | None = Field(None, validation_alias=AliasChoices("HANDOFF_TEAMS_TOKEN_URL", "teams_token_url"))

    @field_validator("reminders")
    @classmethod
    def _check_reminders(cls, value: str) -> str:
        if value.strip().lower() in ("off", "none"):
            return ""
        try:
            parse_schedule(value)
        except ScheduleError as error:
            raise ValueError(f"{error} (expected a list like 10m,30m,60m, or off)") from None
        return value

    @field_validator("first_action_nudge")
    @classmethod
    def _check_first_action(cls, value: str) -> str:
        try:
            parse_duration(value)
        except ScheduleError as error:
            raise ValueError(str(error)) from None
        return value

    def reminder_policy(self) -> ReminderPolicy:
        return ReminderPolicy(parse_schedule(self.reminders), parse_duration(self.first_action_nudge))

    @property
    def ai_deadline(self) -> timedelta:
        return timedelta(seconds=self.ai_deadline_s)
    # PSA (one connection from the environment, for single-workspace mode; see README "PSA notes")
    psa: str | None = Field(None, validation_alias=AliasChoices("HANDOFF_PSA", "psa"))
    psa_url: str | None = Field(None, validation_alias=AliasChoices("HANDOFF_PSA_URL", "psa_url"))
    psa_company: str | None = Field(None, validation_alias=AliasChoices("HANDOFF_PSA_COMPANY", "psa_company"))
    psa_public_key: str | None = Field(None, validation_alias=AliasChoices("HANDOFF_PSA_PUBLIC_KEY", "psa_public_key"))
    psa_private_key: SecretStr | None = Field(None, validation_alias=AliasChoices("HANDOFF_PSA_PRIVATE_KEY", "psa_private_key"))
    psa_client_id: str | None = Field(None, validation_alias=AliasChoices("HANDOFF_PSA_CLIENT_ID", "psa_client_id"))
    psa_username: str | None = Field(None, validation_alias=AliasChoices("HANDOFF_PSA_USERNAME", "psa_username"))
    psa_secret: SecretStr | None = Field(None, validation_alias=AliasChoices("HANDOFF_PSA_SECRET", "psa_secret"))
    psa_integration_code: str | None = Field(None, validation_alias=AliasChoices("HANDOFF_PSA_INTEGRATION_CODE", "psa_integration_code"))
    psa_discovery_url: str | None = Field(None, validation_alias=AliasChoices("HANDOFF_PSA_DISCOVERY_URL", "psa_discovery_url"))
    psa_auth_url: str | None = Field(None, validation_alias=AliasChoices("HANDOFF_PSA_AUTH_URL", "psa_auth_url"))
    psa_client_secret: SecretStr | None = Field(None, validation_alias=AliasChoices("HANDOFF_PSA_CLIENT_SECRET", "psa_client_secret"))
    psa_tenant: str | None = Field(None, validation_alias=AliasChoices("HANDOFF_PSA_TENANT", "psa_tenant"))
    # Opt-in: on pick-up, make the senior the ticket's owner/resource when their email maps to a PSA member.
    psa_assign: bool = Field(False, validation_alias=AliasChoices("HANDOFF_PSA_ASSIGN", "psa_assign"))
    psa_timeout_s: float = Field(10.0, validation_alias=AliasChoices("HANDOFF_PSA_TIMEOUT_S", "psa_timeout_s"))
    psa_check_timeout_s: float = Field(1.5, validation_alias=AliasChoices("HANDOFF_PSA_CHECK_TIMEOUT_S", "psa_check_timeout_s"))
    psa_retry_base_s: float = Field(5.0, validation_alias=AliasChoices("HANDOFF_PSA_RETRY_BASE_S", "psa_retry_base_s"))
    psa_retry_cap_s: float = Field(600.0, validation_alias=AliasChoices("HANDOFF_PSA_RETRY_CAP_S", "psa_retry_cap_s"))
    psa_card_wait_s: float = Field(30.0, validation_alias=AliasChoices("HANDOFF_PSA_CARD_WAIT_S", "psa_card_wait_s"))
    secret_key: SecretStr | None = Field(None, validation_alias=AliasChoices("HANDOFF_SECRET_KEY", "secret_key"))

    def psa_environment(self) -> dict[str, str | None]:
        """The HANDOFF_PSA* values by their environment names (secrets revealed: for the connection only)."""
        values: dict[str, str | None] = {}
        for name, value in self:
            if name == "psa" or (name.startswith("psa_") and isinstance(value, (str, SecretStr))):
                plain = value.get_secret_value() if isinstance(value, SecretStr) else value
                values["HANDOFF_" + name.upper()] = plain
        return values

    @property
    def slack_oauth_enabled(self) -> bool:
        """Many workspaces: each installs through /slack/install; tokens live in the database."""
        return bool(self.slack_client_id and self.slack_client_secret and self.slack_signing_secret)

    @property
    def slack_enabled(self) -> bool:
        single = bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))
        return single or self.slack_oauth_enabled

    @field_validator("microsoft_app_type", mode="before")
    @classmethod
    def _app_type_any_case(cls, value: object) -> object:
        if isinstance(value, str):
            return next((name for name in APP_TYPES if name.lower() == value.strip().lower()), value)
        return value

    @property
    def teams_enabled(self) -> bool:
        return bool(self.microsoft_app_id) or self.teams_local_dev
