"""Secret values in Kafka client settings: `${ENV:NAME}` and `${FILE:/path}` references.

A Kubernetes Secret arrives as an environment variable or a mounted file, so a
setting's value may name either instead of holding the secret itself. Resolved
values come back as `Secret`, a `str` whose repr is masked: the settings tuples
travel through dataclass reprs, Beam display data and log lines, and none of
them may show a password. Beam-free and kafka-python-free.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

# `${ENV:NAME}` or `${FILE:/path/to/file}`; anything else in `${...}` is an error
# rather than a literal, so a typo never becomes a password.
_REFERENCE = re.compile(r"\$\{([A-Za-z]+):([^}]*)\}")
MASK = "***"


class Secret(str):
    """A setting value that must never be shown: repr() and str.format('!r') mask it.

    It is still a str (kafka-python encodes it when authenticating); code that
    formats settings for people must go through `describe_value`.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"'{MASK}'"

    def __reduce__(self):  # pickles (Beam ships configs to workers) as a Secret again
        return (Secret, (str(self),))


class SecretReferenceError(ValueError):
    """A `${...}` reference that cannot be resolved; the message never holds a value."""


def has_reference(value: str) -> bool:
    return "${" in value


def resolve(
    value: str,
    *,
    environ: Mapping[str, str] | None = None,
    read_file: Callable[[str], str] | None = None,
) -> str:
    """Replace every `${ENV:NAME}` / `${FILE:/path}` in `value`; a value with any
    reference comes back as a Secret. Trailing newlines of a file are dropped
    (`echo pw > file` and Kubernetes `stringData` both leave one)."""
    if not has_reference(value):
        return value
    environ = os.environ if environ is None else environ
    read_file = read_file or _read_secret_file

    def substitute(match: re.Match[str]) -> str:
        kind, name = match.group(1).upper(), match.group(2)
        if kind == "ENV":
            if not name:
                raise SecretReferenceError("${ENV:} names no variable")
            if name not in environ:
                raise SecretReferenceError(f"environment variable {name} is not set")
            return environ[name]
        if kind == "FILE":
            if not name:
                raise SecretReferenceError("${FILE:} names no file")
            return read_file(name)
        raise SecretReferenceError(
            f"${{{match.group(1)}:...}} is not a known reference (use ${{ENV:NAME}} or "
            "${FILE:/path})"
        )

    if "${" in _REFERENCE.sub("", value):
        raise SecretReferenceError("malformed ${...} reference (use ${ENV:NAME} or ${FILE:/path})")
    return Secret(_REFERENCE.sub(substitute, value))


def _read_secret_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except FileNotFoundError:
        raise SecretReferenceError(f"secret file {path} does not exist") from None
    except IsADirectoryError:
        raise SecretReferenceError(f"secret file {path} is a directory") from None
    except PermissionError:
        raise SecretReferenceError(f"secret file {path} is not readable") from None
    except UnicodeDecodeError:
        raise SecretReferenceError(f"secret file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise SecretReferenceError(f"secret file {path}: {exc.strerror}") from None


def describe_value(value: object) -> str:
    """A value as it may be shown to people: masked when secret."""
    return MASK if isinstance(value, Secret) else repr(value)
