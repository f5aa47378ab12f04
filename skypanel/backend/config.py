"""Settings from the environment and `.env`, in one object.

In development a missing SECRET_KEY / ENCRYPTION_KEY is generated once into
`./data/` (mode 0600) so a fresh clone runs; in production the app refuses to
start without them and says which one is missing.
"""

from __future__ import annotations

import base64
import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class ConfigError(RuntimeError):
    """Raised when the configuration cannot run the app (says what is missing)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    skypanel_env: str = Field("development", description="development | production | test")
    data_dir: Path = Field(PROJECT_ROOT / "data", description="embedded database and generated keys")
    database_url: str | None = Field(None, description="PostgreSQL URL; unset = embedded PostgreSQL")
    secret_key: str | None = None
    encryption_key: str | None = Field(None, description="base64 of 32 bytes, AES-256-GCM")
    public_url: str = "http://localhost:3000"
    platform_name: str = "SkyPanel"
    cors_allowed_origins: str = Field("", description="comma separated; default = public_url")

    session_idle_days: int = 7
    pending_login_minutes: int = 5
    password_reset_minutes: int = 60
    invitation_days: int = 7

    resend_api_key: str | None = None
    resend_base_url: str = "https://api.resend.com"
    email_from: str = "SkyPanel <no-reply@skypanel.local>"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True

    bcrypt_rounds: int = 12

    paypal_client_id: str | None = Field(None, description="PayPal REST app; unset = local stand-in (not in production)")
    paypal_client_secret: str | None = None
    paypal_webhook_id: str | None = Field(None, description="id of the webhook registered for this app at PayPal")
    paypal_mode: str = Field("sandbox", description="sandbox | live (picks the API host)")
    paypal_base_url: str | None = Field(None, description="override the PayPal API host (e.g. a proxy)")

    simulated_delay_scale: float = Field(
        1.0, ge=0, le=1000,
        description="simulated provider: multiplies its state-change delays (1 = realistic, 0 = instant)")
    simulated_ssh_port: int = Field(
        2222, ge=1, le=65535,
        description="port of the simulated servers' SSH endpoints, each on its own 127.42.x.y address")

    @property
    def is_production(self) -> bool:
        return self.skypanel_env == "production"

    @property
    def paypal_standin(self) -> bool:
        """The local PayPal stand-in is used (and mounted) only without credentials, never in production."""
        return not self.paypal_client_id and not self.is_production

    @property
    def allowed_origins(self) -> list[str]:
        raw = self.cors_allowed_origins or self.public_url
        return [o.strip().rstrip("/") for o in raw.split(",") if o.strip()]

    def encryption_key_bytes(self) -> bytes:
        key = base64.b64decode(self.encryption_key or "")
        if len(key) != 32:
            raise ConfigError("ENCRYPTION_KEY must be base64 of exactly 32 bytes")
        return key


def _generated_secret(data_dir: Path, name: str, make) -> str:
    """Read or create a development secret file (0600) under data_dir."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / name
    if path.exists():
        return path.read_text().strip()
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def load_settings() -> Settings:
    s = Settings()
    if s.is_production:
        missing = [n for n in ("SECRET_KEY", "ENCRYPTION_KEY") if not getattr(s, n.lower())]
        if missing:
            raise ConfigError(f"SKYPANEL_ENV=production needs {', '.join(missing)}; set it in the environment or .env")
    else:
        if not s.secret_key:
            s.secret_key = _generated_secret(s.data_dir, "secret_key", lambda: secrets.token_urlsafe(48))
        if not s.encryption_key:
            s.encryption_key = _generated_secret(
                s.data_dir, "encryption_key", lambda: base64.b64encode(secrets.token_bytes(32)).decode()
            )
    s.encryption_key_bytes()  # validate early
    return s


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
