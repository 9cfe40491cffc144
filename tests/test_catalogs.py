"""The message catalogs agree with each other and are safe to send.

Every language has the same keys with the same ``{placeholders}``, every
template formats, markup is balanced Telegram HTML (<b>, <i>, <code> only),
the Vietnamese text is NFC, and :meth:`Catalog.text` escapes what it fills in.
"""

from __future__ import annotations

import re
import string
import tomllib
import unicodedata
from typing import Any

import pytest

from bot.dialog.catalog import LOCALES, Catalog, Markup

LANGUAGES = ("vi", "en")
ALLOWED_TAGS = {"b", "i", "code"}
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)([^<>]*)>")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9A-Fa-f]+);")


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Dotted keys to raw values, without the normalisation the catalog applies."""
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            assert isinstance(value, str), f"{name}: expected a string, got {type(value).__name__}"
            flat[name] = value
    return flat


def _raw(lang: str) -> dict[str, str]:
    path = LOCALES / f"{lang}.toml"
    return _flatten(tomllib.loads(path.read_text(encoding="utf-8")))


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _markup_problems(template: str) -> list[str]:
    problems: list[str] = []
    stack: list[str] = []
    for match in _TAG.finditer(template):
        closing, tag, attributes = match.groups()
        if tag not in ALLOWED_TAGS:
            problems.append(f"tag <{closing}{tag}> is not allowed")
        elif attributes.strip():
            problems.append(f"tag {match.group(0)} has attributes")
        elif not closing:
            stack.append(tag)
        elif not stack or stack[-1] != tag:
            problems.append(f"</{tag}> does not close {'<' + stack[-1] + '>' if stack else 'anything'}")
        else:
            stack.pop()
    problems.extend(f"<{tag}> is never closed" for tag in stack)
    rest = _ENTITY.sub("", _TAG.sub("", template))
    problems.extend(f"bare {ch!r} (write it as an entity)" for ch in "<>&" if ch in rest)
    return problems


@pytest.fixture(scope="module")
def raw() -> dict[str, dict[str, str]]:
    return {lang: _raw(lang) for lang in LANGUAGES}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def test_catalogs_parse(raw: dict[str, dict[str, str]], catalog: Catalog) -> None:
    for lang in LANGUAGES:
        assert raw[lang], f"{lang}.toml has no messages"
    assert set(LANGUAGES) <= set(catalog.languages)
    assert catalog.default == "vi"


def test_same_keys(raw: dict[str, dict[str, str]]) -> None:
    vi = set(raw["vi"])
    for lang in LANGUAGES:
        missing = sorted(vi - set(raw[lang]))
        extra = sorted(set(raw[lang]) - vi)
        assert not missing, f"{lang}.toml is missing keys: {', '.join(missing)}"
        assert not extra, f"{lang}.toml has keys vi.toml does not: {', '.join(extra)}"


def test_same_placeholders(raw: dict[str, dict[str, str]]) -> None:
    problems = [
        f"{lang}:{key}: {sorted(_fields(raw[lang][key]))} != vi {sorted(_fields(template))}"
        for lang in LANGUAGES
        for key, template in raw["vi"].items()
        if key in raw[lang] and _fields(raw[lang][key]) != _fields(template)
    ]
    assert not problems, "placeholders differ:\n" + "\n".join(problems)


def test_templates_format(raw: dict[str, dict[str, str]]) -> None:
    problems: list[str] = []
    for lang, table in raw.items():
        for key, template in table.items():
            names = _fields(template)
            bad = sorted(name for name in names if not name.isidentifier())
            if bad:
                problems.append(f"{lang}:{key}: placeholders must be plain names, got {bad}")
                continue
            try:
                template.format(**dict.fromkeys(names, "x"))
            except (KeyError, IndexError, ValueError) as error:
                problems.append(f"{lang}:{key}: {error!r}")
    assert not problems, "\n".join(problems)


def test_markup_is_balanced_and_allowed(raw: dict[str, dict[str, str]]) -> None:
    problems = [
        f"{lang}:{key}: {problem}"
        for lang, table in raw.items()
        for key, template in table.items()
        for problem in _markup_problems(template)
    ]
    assert not problems, "\n".join(problems)


def test_markup_checker_catches_mistakes() -> None:
    assert _markup_problems("<b>ok</b> <i>fine</i> <code>{code}</code>") == []
    assert _markup_problems("<b>open")
    assert _markup_problems("<b><i>crossed</b></i>")
    assert _markup_problems("<u>underline</u>")
    assert _markup_problems('<a href="x">link</a>')
    assert _markup_problems("1 < 2")


def test_vietnamese_is_nfc(raw: dict[str, dict[str, str]]) -> None:
    not_nfc = sorted(
        f"{lang}:{key}"
        for lang, table in raw.items()
        for key, template in table.items()
        if not unicodedata.is_normalized("NFC", template)
    )
    assert not not_nfc, f"not in NFC: {', '.join(not_nfc)}"
    text = (LOCALES / "vi.toml").read_text(encoding="utf-8")
    assert unicodedata.is_normalized("NFC", text), "vi.toml (comments or keys) is not NFC"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_text_escapes_every_value(raw: dict[str, dict[str, str]], catalog: Catalog, lang: str) -> None:
    for key, template in raw[lang].items():
        names = _fields(template)
        out = catalog.text(lang, key, **dict.fromkeys(names, "<script>&"))
        assert isinstance(out, Markup)
        assert "<script>" not in out, key
        if names:
            assert "&lt;script&gt;&amp;" in out, key


def test_text_escapes_and_keeps_markup() -> None:
    catalog = Catalog({"vi": {"k": "<b>{value}</b>"}})
    assert catalog.text("vi", "k", value="<script>") == "<b>&lt;script&gt;</b>"
    assert catalog.text("vi", "k", value="a & b") == "<b>a &amp; b</b>"
    assert catalog.text("vi", "k", value=Markup("<i>safe</i>")) == "<b><i>safe</i></b>"


def test_unknown_language_falls_back_to_vietnamese(raw: dict[str, dict[str, str]], catalog: Catalog) -> None:
    for key, template in raw["vi"].items():
        values = dict.fromkeys(_fields(template), "x")
        assert catalog.text("xx", key, **values) == catalog.text("vi", key, **values)
    translator = catalog.bind("xx")
    assert translator.lang == "vi"
    key, template = next(iter(raw["vi"].items()))
    values = dict.fromkeys(_fields(template), "x")
    assert translator(key, **values) == catalog.text("vi", key, **values)


def test_english_is_not_a_copy(raw: dict[str, dict[str, str]], catalog: Catalog) -> None:
    assert catalog.bind("en").lang == "en"
    copied = [key for key, template in raw["en"].items() if not _fields(template) and template == raw["vi"].get(key)]
    assert len(copied) < len(raw["vi"]) // 10, f"en.toml looks untranslated: {', '.join(copied)}"
