"""Reading ``config.yml``, the one file an operator edits.

Why this shape: secrets come from the environment (``${NAME}``, ``${NAME:-fallback}``), never
from the file, and a missing or invalid value must be reported with the full key that needs it
(``channels.telegram.token``), only when something actually uses that key. Each module parses
its own section through :class:`Section`, so adding a setting does not touch this file.
"""
from __future__ import annotations

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
