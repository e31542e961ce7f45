"""Configuration from the environment (and .env). Names follow DESIGN.md's contract."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    job_lease_s: float = Field(60.0, validation_alias=AliasChoices("HANDOFF_JOB_LEASE_S", "job_lease_s"))
    job_poll_s: float = Field(1.0, validation_alias=AliasChoices("HANDOFF_JOB_POLL_S", "job_poll_s"))

    # Slack
    slack_signing_secret: str | None = Field(None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "slack_signing_secret"))
    slack_bot_token: str | None = Field(None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "slack_bot_token"))
    slack_app_token: str | None = Field(None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "slack_app_token"))
    slack_api_url: str = Field("https://slack.com/api/", validation_alias=AliasChoices("SLACK_API_URL", "slack_api_url"))
    slack_channel: str | None = Field(None, validation_alias=AliasChoices("HANDOFF_SLACK_CHANNEL", "slack_channel"))

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

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))

    @field_validator("microsoft_app_type", mode="before")
    @classmethod
    def _app_type_any_case(cls, value: object) -> object:
        if isinstance(value, str):
            return next((name for name in APP_TYPES if name.lower() == value.strip().lower()), value)
        return value

    @property
    def teams_enabled(self) -> bool:
        return bool(self.microsoft_app_id) or self.teams_local_dev
