"""Configuration, read once from `LIG_*` environment variables (and an optional `.env`)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./lig.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIG_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "production"
    database_url: str = DEFAULT_DATABASE_URL
    # Connection pool per gateway process (PostgreSQL only; SQLite uses one file).
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=5, ge=0, le=200)
    db_echo: bool = False

    # Pagination: the largest page any list answers, and the default page.
    max_page_size: int = Field(default=100, ge=1, le=1000)
    default_page_size: int = Field(default=20, ge=1, le=1000)
    # Eligibility: how many ID numbers one call may ask about (CONTRACT.md fixes 1,000).
    max_eligibility_batch: int = Field(default=1000, ge=1, le=1000)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
