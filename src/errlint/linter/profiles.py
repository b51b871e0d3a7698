"""API profiles: what a specific API documents about its errors.

Profiles are validated here so that config problems name the profile and the
field; rules read them through `Model.profile_for(call)`.
"""

from __future__ import annotations

from typing import Any, Mapping

from errlint.linter.config import ConfigError


def validate_profiles(raw: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    profiles = {}
    for name, table in raw.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{where}.{name}`: expected a table")
        profiles[name] = dict(table)
    return profiles
