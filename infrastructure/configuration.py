"""The effective configuration: each setting's value, where it came from (default, env,
.env, option), what it allows, and one clear error for a value that is not allowed.

Root options (``convtrack --api-port 9000 serve``) are put into the process's environment
(``apply_options``), so every ``Settings()`` — in this process and in the API worker
processes it starts — reads them, and remembered here so ``convtrack config`` can say
which values an option gave."""

from __future__ import annotations

import enum
import os
import tempfile
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import DotEnvSettingsSource
from sqlalchemy import make_url

from domain.errors import InvalidValue
from infrastructure.database import masked_url
from infrastructure.settings import DEFAULT_DATABASE_URL, ENV_PREFIX, Settings, env_name, option_name

SECRET_WORDS = ("password", "secret", "token")
_given_as_options: dict[str, str | None] = {}  # setting → its variable's value before the option


def apply_options(values: dict[str, str | None]) -> None:
    """Root options given on the command line win over the environment and ``.env``."""
    for name, value in values.items():
        if value is not None:
            _given_as_options.setdefault(name, os.environ.get(env_name(name)))
            os.environ[env_name(name)] = value


def forget_options() -> None:
    """The environment as it was before ``apply_options`` (for a caller in the same process)."""
    for name, before in _given_as_options.items():
        if before is None:
            os.environ.pop(env_name(name), None)
        else:
            os.environ[env_name(name)] = before
    _given_as_options.clear()


def setting_label(name: str) -> str:
    return f"{env_name(name)} ({option_name(name)})"


def load_settings() -> Settings:
    """``Settings()``, or ``InvalidValue`` (exit 2) in one line naming each setting that is
    not allowed, the value given (passwords masked) and what is allowed."""
    try:
        return Settings()
    except ValidationError as error:
        raise invalid_settings(error) from None


def invalid_settings(error: ValidationError) -> InvalidValue:
    """The settings class's refusal as one ``InvalidValue`` naming each setting."""
    (label, reason), *others = [_problem(entry) for entry in error.errors()]
    return InvalidValue(label, "; ".join([reason, *(f"{more}: {why}" for more, why in others)]))


def _problem(entry: Any) -> tuple[str, str]:
    name = str(entry["loc"][0]) if entry["loc"] else "settings"
    field = Settings.model_fields.get(name)
    value = mask(name, entry.get("input"))
    if entry["type"] == "value_error":  # ours: says what the value "is" or "has"
        reason = str(entry["ctx"]["error"])
    else:  # pydantic's: "Input should be …", "String should match …"
        reason = f"is not allowed ({entry['msg'][0].lower()}{entry['msg'][1:]})"
    allowed_text = f"; allowed: {allowed(field)}" if field is not None and "allowed:" not in reason else ""
    return setting_label(name), f"{value!r} {reason}{allowed_text}"


def mask(name: str, value: object) -> str:
    """A value as it may be shown: a URL's password and any secret replaced by ``***``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, SecretStr) or any(word in name for word in SECRET_WORDS):
        return "***"
    text = str(value)
    return masked_url(text) if name.endswith("_url") else text


def allowed(field: FieldInfo) -> str:
    """What a setting accepts, for errors and the generated table: the field's own words
    (``json_schema_extra={"allowed": …}``) or its type and bounds."""
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if "allowed" in extra:
        return str(extra["allowed"])
    annotation = field.annotation
    optional = type(None) in typing.get_args(annotation)
    if optional:
        annotation = next(arg for arg in typing.get_args(annotation) if arg is not type(None))
    text = _type_text(annotation, field.metadata)
    return f"{text} (or unset)" if optional else text


def _type_text(annotation: Any, metadata: list[Any]) -> str:
    if annotation is bool:
        return "true or false"
    if typing.get_origin(annotation) is Literal:
        return "one of " + ", ".join(str(choice) for choice in typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(str(member.value) for member in annotation)
    if annotation in (int, float):
        return ("an integer" if annotation is int else "a number") + _bounds(metadata)
    if annotation is Path:
        return "a path"
    lengths = {type(item): item for item in metadata if isinstance(item, MinLen | MaxLen)}
    if MinLen in lengths:
        return "text, not empty"
    return "text"


def _bounds(metadata: list[Any]) -> str:
    words = []
    for item in metadata:
        if isinstance(item, Ge):
            words.append(f"≥ {item.ge}")
        elif isinstance(item, Gt):
            words.append(f"> {item.gt}")
        elif isinstance(item, Le):
            words.append(f"≤ {item.le}")
        elif isinstance(item, Lt):
            words.append(f"< {item.lt}")
    return " " + " and ".join(words) if words else ""


@dataclass(frozen=True)
class Effective:
    """One setting as it is in force: its value as it may be shown, and where it came from."""

    name: str
    env: str
    option: str
    value: str
    source: str

    def to_dict(self) -> dict[str, str]:
        return {"value": self.value, "source": self.source, "env": self.env, "option": self.option}


def sources() -> dict[str, str]:
    """Where each setting's value comes from: an option, the environment, ``.env`` or the default."""
    from_dotenv = DotEnvSettingsSource(Settings)()
    environment = {key.upper() for key in os.environ}
    found = {}
    for name in Settings.model_fields:
        if name in _given_as_options:
            found[name] = "option"
        elif env_name(name) in environment:
            found[name] = "env"
        else:
            found[name] = ".env" if name in from_dotenv else "default"
    return found


def unknown_variables() -> list[str]:
    """``CONVTRACK_*`` environment variables that are no setting (a typo is otherwise ignored)."""
    known = {env_name(name) for name in Settings.model_fields}
    return sorted(key for key in os.environ if key.upper().startswith(ENV_PREFIX) and key.upper() not in known)


def effective(settings: Settings) -> list[Effective]:
    """Every setting of ``settings`` with its source, in the class's order."""
    return [
        Effective(name, env_name(name), option_name(name), mask(name, getattr(settings, name)), source)
        for name, source in sources().items()
    ]


def unusable_path(path: Path, *, directory: bool, mode: int = os.W_OK) -> str | None:
    """Why ``path`` cannot serve as a directory to write in (``directory``) or a file to
    open with ``mode``, whether it exists or would be created; None when it can."""
    path = path.absolute()
    if path.exists():
        if path.is_dir() != directory:
            return f"{path} is {'a file, not a directory' if directory else 'a directory, not a file'}"
        usable = can_create_in(path) if directory else os.access(path, mode)
        return None if usable else f"{path} is not {'writable' if mode & os.W_OK else 'readable'}"
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"{ancestor} is a file, not a directory"
    return None if can_create_in(ancestor) else f"{ancestor} is not writable"


def can_create_in(directory: Path) -> bool:
    """Whether a file can be created in ``directory``: tried (a nameless temporary file,
    gone when closed), since permission bits do not tell for root or a read-only mount."""
    try:
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False


def default_database_problem(settings: Settings) -> str | None:
    """Why the SQLite file of the database URL cannot be opened or created here, if it cannot."""
    parsed = make_url(settings.database_url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return unusable_path(Path(parsed.database), directory=False, mode=os.R_OK)


def check_database_file(settings: Settings) -> None:
    """Refuse (exit 2) an SQLite database file that cannot be opened or created, naming
    the default path and the variable when no URL was configured."""
    problem = default_database_problem(settings)
    if problem is None:
        return
    if sources()["database_url"] == "default":
        raise InvalidValue(
            setting_label("database_url"),
            f"not set, and the default database {DEFAULT_DATABASE_URL} cannot be opened here ({problem}); "
            f"set {env_name('database_url')} or {option_name('database_url')}",
        )
    raise InvalidValue(setting_label("database_url"), f"the SQLite file cannot be opened or created ({problem})")


def check_reports_dir(path: Path, given_as: str | None = None) -> Path:
    """``path`` when reports can be written there, else ``InvalidValue`` (exit 2) naming the
    option it was ``given_as`` or the reports setting."""
    problem = unusable_path(path, directory=True)
    if problem is not None:
        raise InvalidValue(given_as or setting_label("reports_dir"), f"{problem}; give a directory that can be written")
    return path
