"""Message catalogs: every text a person reads, in Vietnamese and English.

Templates live in ``bot/locales/<lang>.toml`` and may contain the little HTML
Telegram understands (<b>, <i>, <code>). Every value put into a template is
HTML-escaped unless it is wrapped in :class:`Markup`, so user text can never
inject markup.
"""

from __future__ import annotations

import html
import tomllib
from pathlib import Path
from typing import Any

from bot.text import nfc

LOCALES = Path(__file__).resolve().parent.parent / "locales"


class Markup(str):
    """Text that is already HTML-safe (built from escaped parts)."""

    __slots__ = ()


def escape(value: object) -> str:
    if isinstance(value, Markup):
        return str(value)
    return html.escape(nfc(str(value)), quote=False)


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = nfc(str(value)).strip("\n")
    return flat


class Catalog:
    def __init__(self, messages: dict[str, dict[str, str]], default: str = "vi") -> None:
        self.messages = messages
        self.default = default

    @classmethod
    def load(cls, directory: Path = LOCALES, default: str = "vi") -> Catalog:
        messages = {
            path.stem: _flatten(tomllib.loads(path.read_text(encoding="utf-8")))
            for path in sorted(directory.glob("*.toml"))
        }
        if default not in messages:
            raise ValueError(f"no catalog for the default language {default!r} in {directory}")
        return cls(messages, default)

    @property
    def languages(self) -> list[str]:
        return sorted(self.messages)

    def has(self, key: str) -> bool:
        return key in self.messages[self.default]

    def text(self, lang: str, key: str, **values: object) -> str:
        table = self.messages.get(lang) or self.messages[self.default]
        template = table.get(key) or self.messages[self.default].get(key)
        if template is None:
            raise KeyError(f"message {key!r} is missing from the catalog")
        return Markup(template.format(**{name: escape(value) for name, value in values.items()}))

    def bind(self, lang: str) -> Translator:
        return Translator(self, lang if lang in self.messages else self.default)


class Translator:
    """The catalog in one person's language: ``t("key", name=value)``."""

    def __init__(self, catalog: Catalog, lang: str) -> None:
        self.catalog = catalog
        self.lang = lang

    def __call__(self, key: str, **values: object) -> str:
        return self.catalog.text(self.lang, key, **values)
