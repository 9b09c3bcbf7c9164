"""Settings of `nsm check`: `[tool.nsm]` in pyproject.toml and/or `.nsm.yaml`, found upwards.

Like ruff, the search starts in the current folder and walks up to the repository
root (a folder holding `.git`); the first folder with either file wins, and when it
holds both, `.nsm.yaml` overrides pyproject.toml key by key. A bad setting is wrong
usage (exit 2), not a finding: the tree files are fine, the tool is misconfigured.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

from nsm_cli.diagnostics import RequestError
from nsm_cli.numbers import NumberError, read_value
from nsm_cli.tree.parser import suggest

DEFAULT_MONEY_UNITS = ("元", "万元", "亿元", "¥", "￥", "$", "€", "£", "rmb", "cny", "usd", "eur",
                       "gbp", "yuan", "dollar", "dollars")
KEYS = ("select", "ignore", "tolerance", "max_depth", "max_children", "money_units", "exclude")


@dataclass(frozen=True)
class Config:
    """What to report and the thresholds of the tree-quality rules."""

    select: tuple[str, ...] = ("E", "W", "I")   # code prefixes: every code starts with one
    ignore: tuple[str, ...] = ()
    tolerance: float = 0.01      # W401: relative gap between observed and formula
    max_depth: int = 4           # W403: levels, the root being level 1
    max_children: int = 5        # W405
    money_units: tuple[str, ...] = DEFAULT_MONEY_UNITS   # W409, compared case-insensitively
    exclude: tuple[str, ...] = ()  # glob patterns of files to skip below a folder
    source: str | None = None    # where the settings came from, for messages

    def wants(self, code: str) -> bool:
        """A code is reported when a select prefix matches it and no ignore prefix does."""
        code = code.upper()
        return (any(code.startswith(p) for p in self.select)
                and not any(code.startswith(p) for p in self.ignore))


class SettingsError(RequestError):
    """A settings file nsm cannot use: the message starts with where it is."""

    def __init__(self, message: str):
        super().__init__(None, None, message)


def _tolerance(value: object, where: str) -> float:
    """`tolerance` in the one number grammar: a fraction or a percent, never below 0."""
    try:
        number = read_value(value)
    except NumberError as exc:
        if not exc.shapeless and "finite" not in str(exc):
            raise SettingsError(f"{where}: 'tolerance': {exc}") from None
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise SettingsError(f"{where}: 'tolerance' must be a fraction or a percent "
                         f"like 0.01 or \"1%\", not {value!r}")
    return number


def _codes(value: object, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SettingsError(f"{where}: '{key}' must be a list of codes like [\"W407\", \"W40\"]")
    codes = [part.strip().upper() for item in value for part in item.split(",") if part.strip()]
    for code in codes:
        if code[0] not in "EW" or not (code[1:] == "" or code[1:].isdigit()):
            raise SettingsError(f"{where}: '{key}' holds '{code}', which is no code or code "
                             "prefix (like E104, W40 or W)")
    return tuple(codes)


def _positive_int(value: object, key: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SettingsError(f"{where}: '{key}' must be a whole number of at least 1, not {value!r}")
    return value


def apply(config: Config, settings: dict, where: str) -> Config:
    """`config` with the settings of one file (or the command line) applied, checked."""
    if not isinstance(settings, dict):
        raise SettingsError(f"{where}: the settings must be a mapping of keys to values")
    changes: dict[str, object] = {"source": where}
    for key, value in settings.items():
        if key not in KEYS:
            hint = suggest(str(key), KEYS) or f": the keys are {', '.join(KEYS)}"
            raise SettingsError(f"{where}: unknown key '{key}'{hint}")
        if key in ("select", "ignore"):
            changes[key] = _codes(value, key, where)
        elif key == "tolerance":
            changes[key] = _tolerance(value, where)
        elif key in ("max_depth", "max_children"):
            changes[key] = _positive_int(value, key, where)
        else:
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise SettingsError(f"{where}: '{key}' must be a list of text")
            changes[key] = tuple(v.casefold() if key == "money_units" else v for v in value)
    return replace(config, **changes)


def _pyproject(path: Path) -> dict | None:
    import tomllib

    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except UnicodeDecodeError:
        raise SettingsError(f"{path}: cannot read it as TOML: it is not UTF-8 text (TOML files "
                            "are UTF-8); save it as UTF-8") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read it as TOML: {exc}") from None
    tool = data.get("tool", {})
    return tool.get("nsm") if isinstance(tool, dict) else None


def _nsm_yaml(path: Path) -> dict:
    import yaml

    try:
        with open(path, encoding="utf-8-sig") as handle:
            data = yaml.safe_load(handle.read(1_000_000))
    except yaml.MarkedYAMLError as exc:  # one line at the place, not PyYAML's snippet
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = exc.problem or exc.context
        raise SettingsError(f"{where}: cannot read it as YAML: {problem}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problem = str(exc).splitlines()[0]  # a ReaderError adds `in "<unicode string>"...`
        raise SettingsError(f"{path}: cannot read it as YAML: {problem}") from None
    if data is None:
        return {}
    if isinstance(data, dict) and isinstance(data.get("check"), dict) and len(data) == 1:
        data = data["check"]   # `check:` as a section is accepted too
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: the settings must be a mapping of keys to values")
    return data


def find_config(start: Path | None = None) -> Config:
    """The settings that apply in `start` (default: the current folder)."""
    folder = (start or Path.cwd()).resolve()
    for place in (folder, *folder.parents):
        config, found = Config(), False
        pyproject = place / "pyproject.toml"
        if pyproject.is_file():
            settings = _pyproject(pyproject)
            if settings is not None:
                config, found = apply(config, settings, f"{_shown(pyproject)} [tool.nsm]"), True
        dotfile = place / ".nsm.yaml"
        if dotfile.is_file():
            config, found = apply(config, _nsm_yaml(dotfile), _shown(dotfile)), True
        if found:
            return config
        if (place / ".git").exists():
            break
    return Config()


def load_config(path: str) -> Config:
    """Settings from a file named on the command line (`--config`)."""
    file = Path(path)
    if not file.is_file():
        raise RequestError("config", path, "no such file")
    if file.suffix == ".toml":
        settings = _pyproject(file)
        if settings is None:
            raise RequestError("config", path, "the file has no [tool.nsm] table")
        return apply(Config(), settings, f"{path} [tool.nsm]")
    return apply(Config(), _nsm_yaml(file), path)


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
