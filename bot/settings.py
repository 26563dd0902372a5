"""Reading ``config.yml``, the one file an operator edits.

Why this shape: secrets come from the environment (``${NAME}``, ``${NAME:-fallback}``), never
from the file, and a missing or invalid value must be reported with the full key that needs it
(``channels.telegram.token``), only when something actually uses that key. Each module parses
its own section through :class:`Section`, so adding a setting does not touch this file.
"""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, TypeVar

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config.yml"

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")
T = TypeVar("T")


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the key and what is expected."""


class _Missing:
    """An ``${NAME}`` whose variable is unset: an error only if a caller needs the value."""

    def __init__(self, variable: str) -> None:
        self.variable = variable

    def __repr__(self) -> str:  # never the value, only the variable's name
        return f"<unset ${{{self.variable}}}>"


def _substitute(value: Any, environ: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: _substitute(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, environ) for item in value]
    if not isinstance(value, str):
        return value
    whole = _ENV_REF.fullmatch(value.strip())
    if whole:
        name, fallback = whole.group(1), whole.group(2)
        found = environ.get(name)
        if found not in (None, ""):
            return yaml.safe_load(found) if _looks_scalar(found) else found
        if fallback is not None:
            return yaml.safe_load(fallback) if fallback else ""
        return _Missing(name)

    def replace(match: re.Match) -> str:
        found = environ.get(match.group(1))
        if found not in (None, ""):
            return found
        if match.group(2) is not None:
            return match.group(2)
        raise ConfigError(f"environment variable {match.group(1)} is not set (used inside {value!r})")

    return _ENV_REF.sub(replace, value)


def _looks_scalar(text: str) -> bool:
    """Env values like "true" or "5005" become bool/int; anything else stays a string."""
    return bool(re.fullmatch(r"true|false|True|False|-?\d+(\.\d+)?", text))


@dataclass(frozen=True)
class Section:
    """A mapping under a dotted path, with typed accessors that name the key on error."""

    path: str
    data: Mapping[str, Any]

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def section(self, key: str) -> "Section":
        value = self.data.get(key, {})
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"{self._key(key)} must be a mapping of settings, got {type(value).__name__}")
        return Section(self._key(key), value)

    def has(self, key: str) -> bool:
        value = self.data.get(key)
        return value is not None and not isinstance(value, _Missing) and value != ""

    def require(self, key: str, kind: Callable[[Any], T] = str) -> T:
        value = self.data.get(key)
        if isinstance(value, _Missing):
            raise ConfigError(f"{self._key(key)} needs the environment variable {value.variable}, which is not set")
        if value is None or value == "":
            raise ConfigError(f"{self._key(key)} is required in config.yml")
        return self._convert(key, value, kind)

    def get(self, key: str, default: Optional[T] = None, kind: Callable[[Any], T] = str) -> Optional[T]:
        value = self.data.get(key)
        if value is None or value == "" or isinstance(value, _Missing):
            return default
        return self._convert(key, value, kind)

    def flag(self, key: str, default: bool = False) -> bool:
        return bool(self.get(key, default, kind=_to_bool))

    def _convert(self, key: str, value: Any, kind: Callable[[Any], T]) -> T:
        try:
            return kind(value)
        except (TypeError, ValueError) as error:
            name = getattr(kind, "__name__", "value").lstrip("_").replace("to_", "")
            raise ConfigError(f"{self._key(key)}: {value!r} is not a valid {name} ({error})") from None


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1", "ya"):
        return True
    if text in ("false", "no", "off", "0", "tidak"):
        return False
    raise ValueError("expected true or false")


# accessibility.defaults.speech_rate (storage.repositories.profiles.SPEECH_RATES keeps the same two).
SPEECH_RATES = ("normal", "slow")


@dataclass(frozen=True)
class ProfileDefaults:
    """``accessibility.defaults``: what a citizen never seen before starts with (typed, validated once)."""

    voice_replies: bool = False
    simple_language: bool = False
    speech_rate: str = "normal"


@dataclass(frozen=True)
class TelegramSettings:
    """``channels.telegram``, validated once: the connector takes these values, never the loader."""

    token: str
    webhook_secret: Optional[str]
    api_base_url: str
    mode: str  # "webhook" | "polling" (auto resolved against server.public_url)


@dataclass(frozen=True)
class StatusTemplateSettings:
    """``channels.whatsapp.status_template``: the approved template of status updates after 24 hours."""

    content_sid: str
    variables: tuple  # (("1", "tracking_number"), ("2", "status_text"))


STATUS_TEMPLATE_FIELDS = ("tracking_number", "status_text", "status")


@dataclass(frozen=True)
class ChannelAddresses:
    """Where citizens reach the bot, as posters and ``bot event create`` show it (bot/outreach):
    ``channels.telegram.bot_username``, the WhatsApp and SMS numbers (``number_display``, else
    ``from_number``) and ``channels.sms.keyword``; None where not configured. The outreach code
    takes these values, never the loader."""

    telegram_username: Optional[str]
    whatsapp_number: Optional[str]
    sms_number: Optional[str]
    sms_keyword: Optional[str]  # None: storage.event_codes.DEFAULT_SMS_KEYWORD


@dataclass(frozen=True)
class Settings:
    """The loaded configuration; ``root`` is where relative paths start."""

    root: Section
    base_dir: Path

    def section(self, dotted: str) -> Section:
        current = self.root
        for part in dotted.split("."):
            current = current.section(part)
        return current

    @property
    def data_dir(self) -> Path:
        path = Path(self.root.get("data_dir", "data"))
        return path if path.is_absolute() else self.base_dir / path

    def path(self, value: str) -> Path:
        """A path from the config, relative to the data folder when not absolute."""
        candidate = Path(value)
        return candidate if candidate.is_absolute() else self.data_dir / candidate

    @property
    def database_url(self) -> str:
        return self.absolute_sqlite(self.section("database").require("url"))

    @property
    def tracker_store_url(self) -> str:
        return self.absolute_sqlite(self.section("tracker_store").require("url"))

    @property
    def tracker_cache_size(self) -> int:
        """Conversations the Rasa server keeps in memory between turns (bot/tracker_store.py)."""
        return int(self.section("tracker_store").get("cache_conversations", 200, kind=int))

    @property
    def identity_key(self) -> bytes:
        key = self.section("identity").require("hash_key")
        if len(key) < 16:
            raise ConfigError("identity.hash_key must be at least 16 characters long")
        return key.encode("utf-8")

    def absolute_sqlite(self, url: str) -> str:
        """``sqlite:///data/x.db`` is relative to the repository root, whatever the cwd."""
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
            return prefix + str((self.base_dir / url[len(prefix):]).resolve())
        return url

    @functools.cached_property
    def profile_defaults(self) -> ProfileDefaults:
        """``accessibility.defaults`` as a frozen value; a bad value is a ConfigError naming the key.

        The accessibility layer reads this value and never this module (layers point one way).
        """
        section = self.section("accessibility.defaults")
        rate = section.get("speech_rate", "normal")
        if rate not in SPEECH_RATES:
            raise ConfigError(f"accessibility.defaults.speech_rate must be one of {SPEECH_RATES}, got {rate!r}")
        return ProfileDefaults(voice_replies=section.flag("voice_replies", False),
                               simple_language=section.flag("simple_language", False), speech_rate=rate)

    @functools.cached_property
    def telegram(self) -> TelegramSettings:
        """``channels.telegram``; ConfigError for a webhook without a public URL or a secret."""
        section = self.section("channels.telegram")
        public_url = self.section("server").get("public_url")
        mode = section.get("mode", "auto")
        mode = ("webhook" if public_url else "polling") if mode == "auto" else mode
        secret = section.get("webhook_secret")
        if mode == "webhook" and not public_url:
            raise ConfigError("channels.telegram.mode is webhook but server.public_url is not set")
        if mode == "webhook" and not secret:
            raise ConfigError("channels.telegram.webhook_secret is required for webhooks (TELEGRAM_WEBHOOK_SECRET)")
        return TelegramSettings(token=section.require("token"), webhook_secret=secret,
                                api_base_url=section.get("api_base_url", "https://api.telegram.org").rstrip("/"),
                                mode=mode)

    @functools.cached_property
    def whatsapp_status_template(self) -> Optional[StatusTemplateSettings]:
        """``channels.whatsapp.status_template``; None when no Content SID is set."""
        template = self.section("channels.whatsapp.status_template")
        if not template.has("content_sid"):
            return None
        content_sid = template.require("content_sid")
        if not re.fullmatch(r"HX[0-9a-fA-F]{32}", content_sid):
            raise ConfigError(f"{template.path}.content_sid must be a Content SID (HX and 32 hex digits)")
        raw = template.data.get("variables") or {"1": "tracking_number", "2": "status_text"}
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{template.path}.variables must map template numbers to "
                              f"{', '.join(STATUS_TEMPLATE_FIELDS)}")
        variables = []
        for number, field in raw.items():
            if not re.fullmatch(r"[0-9]{1,2}", str(number)) or field not in STATUS_TEMPLATE_FIELDS:
                raise ConfigError(f"{template.path}.variables: {number!r}: {field!r} must be a number mapped to one "
                                  f"of {', '.join(STATUS_TEMPLATE_FIELDS)}")
            variables.append((str(number), str(field)))
        return StatusTemplateSettings(content_sid, tuple(sorted(variables, key=lambda item: int(item[0]))))

    @functools.cached_property
    def channel_addresses(self) -> ChannelAddresses:
        """The channels' public addresses (:class:`ChannelAddresses`), read once."""

        def number(channel: str) -> Optional[str]:
            section = self.section(f"channels.{channel}")
            return section.get("number_display") or section.get("from_number")

        return ChannelAddresses(telegram_username=self.section("channels.telegram").get("bot_username"),
                                whatsapp_number=number("whatsapp"), sms_number=number("sms"),
                                sms_keyword=self.section("channels.sms").get("keyword"))

    def channel_enabled(self, name: str) -> bool:
        return self.section(f"channels.{name}").flag("enabled")


def load_settings(path: Optional[os.PathLike] = None, environ: Optional[Mapping[str, str]] = None) -> Settings:
    """Load and substitute the config; ``SAPALAPOR_CONFIG`` picks another file."""
    environ = os.environ if environ is None else environ
    config_path = Path(path or environ.get("SAPALAPOR_CONFIG") or DEFAULT_CONFIG).resolve()
    try:
        raw = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"configuration file {config_path} does not exist") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{config_path} is not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_path} must hold a mapping of settings")
    return Settings(root=Section("", _substitute(raw, environ)), base_dir=ROOT)
