"""Configuration: defaults, the example file, environment overrides, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.config import Config, ConfigError, from_mapping, load
from storage.db import async_url

ROOT = Path(__file__).resolve().parent.parent


def test_example_file_is_the_built_in_defaults() -> None:
    example = from_mapping(tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8")))
    assert example == Config()


def test_environment_overrides_secrets_and_database(tmp_path: Path) -> None:
    config_file = tmp_path / "c.toml"
    config_file.write_text('[telegram]\ntoken = "from-file"\n', encoding="utf-8")
    config = load(
        str(config_file),
        {"TIEPDAN_TELEGRAM_TOKEN": "from-env", "TIEPDAN_DATABASE_URL": "postgresql://u@h/db"},
    )
    assert config.telegram.token == "from-env"
    assert config.database.url == "postgresql://u@h/db"


def test_config_file_from_environment_variable(tmp_path: Path) -> None:
    config_file = tmp_path / "c.toml"
    config_file.write_text('[deployment]\ncase_prefix = "VL"\n', encoding="utf-8")
    assert load(None, {"TIEPDAN_CONFIG": str(config_file)}).deployment.case_prefix == "VL"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"telegram": {"mode": "pull"}}, "telegram.mode: Input should be 'polling' or 'webhook'"),
        ({"deployment": {"timezone": "Mars/Base"}}, "deployment.timezone: Value error, unknown time zone"),
        ({"database": {"url": "mysql://x"}}, "database.url: Value error, expected a sqlite:/// or postgresql://"),
        ({"telegram": {"tokn": "x"}}, "telegram.tokn: unknown key"),
        ({"telegram": {"webhook_port": 70000}}, "telegram.webhook_port: Input should be less than or equal to 65535"),
    ],
)
def test_bad_values_name_the_key(document: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        from_mapping(document, source="c.toml")
    assert str(error.value).startswith(f"c.toml: {message}")
    assert "\n" not in str(error.value)


def test_cli_prints_one_line_for_a_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[telegram]\nmode = 3\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(bad), "db", "upgrade"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {bad}: telegram.mode: Input should be 'polling' or 'webhook'"
    ]


def test_cli_started_elsewhere_names_the_data_folder(tmp_path: Path) -> None:
    """Started outside the repository with the default relative data_dir, the bot says where
    it looked for the reference data instead of complaining about the units profile."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", "console"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        input="",
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: deployment.data_dir: no units folder in 'data' (looked in {tmp_path / 'data'}; "
        "a relative path is relative to the current directory)"
    )


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("sqlite:///var/x.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///var/x.db", "sqlite+aiosqlite"),
        ("postgresql://u@h/db", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg"),
        ("postgres://u@h/db", "postgresql+asyncpg"),
    ],
)
def test_database_urls_get_an_async_driver(url: str, driver: str) -> None:
    assert async_url(url).drivername == driver
