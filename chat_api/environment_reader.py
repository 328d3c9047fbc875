"""Typed access to environment values (text, choices, flags, whole numbers and numbers), each
checked as it is read, with an error that names the variable: a bad value stops the app at
start-up rather than misbehaving later."""

from __future__ import annotations

from collections.abc import Mapping

from chat_api.settings import SettingsError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class EnvironmentReader:
    """Typed access to environment values, with errors that name the variable."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str, default: str = "") -> str:
        value = self._env.get(name, "").strip()
        return value or default

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.text(name, default).lower()
        if value not in allowed:
            raise SettingsError(f"{name} must be one of {', '.join(allowed)}")
        return value

    def optional_choice(self, name: str, allowed: tuple[str, ...]) -> str:
        """One of `allowed`, or "" when unset."""
        value = self.text(name).lower()
        if value and value not in allowed:
            raise SettingsError(f"{name} must be one of {', '.join(allowed)}, or unset")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.text(name).lower()
        if not value:
            return default
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise SettingsError(f"{name} must be true or false")

    def integer(self, name: str, default: int) -> int:
        number = self.count(name, default)
        if number == 0:
            raise SettingsError(f"{name} must be positive")
        return number

    def count(self, name: str, default: int) -> int:
        """A whole number, 0 or more (0 means "off" where a setting allows it)."""
        value = self.text(name)
        try:
            number = int(value) if value else default
        except ValueError:
            raise SettingsError(f"{name} must be a whole number") from None
        if number < 0:
            raise SettingsError(f"{name} must not be negative")
        return number

    def number(self, name: str, default: float) -> float:
        found = self.optional_number(name)
        return default if found is None else found

    def optional_number(self, name: str) -> float | None:
        value = self.text(name)
        if not value:
            return None
        try:
            number = float(value)
        except ValueError:
            raise SettingsError(f"{name} must be a number") from None
        if number < 0:
            raise SettingsError(f"{name} must not be negative")
        return number
