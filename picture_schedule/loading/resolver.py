"""Where the files a course names are found: a folder on disk, or texts given by name.

A course names its site file (``site = "site-nanjing.toml"``) and may name a regimen file
(``regimen = "my-regimen.toml"``). The course loader asks a :class:`Resolver` for them by the name the
course gives, so the same loader, with the same checks and messages, reads a course beside its files
(:class:`FolderResolver`, what ``load_course`` does) or from texts kept elsewhere, e.g. in the roster
(:class:`MappingResolver`), without writing anything to disk.
"""

from __future__ import annotations

import posixpath
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path, PurePath

from picture_schedule.errors import InputError
from picture_schedule.loading.reader import read_text

__all__ = ["FolderResolver", "MappingResolver", "Resolver", "resolver_for"]


class Resolver(ABC):
    """Finds a file a course names, by that name."""

    @abstractmethod
    def has(self, name: str) -> bool:
        """Whether there is a file called ``name``."""

    @abstractmethod
    def read(self, name: str, what: str = "") -> str:
        """The text of ``name``. An unknown or unreadable file raises :class:`InputError` with ``name``
        as its source (``what``, e.g. "regimen", names the kind of file in the message)."""

    @abstractmethod
    def folder_of(self, name: str | None) -> Path | None:
        """The folder that relative folders written in file ``name`` (``None``: in the course itself) are
        found in, such as a site's ``templates``; ``None``: they are kept as written."""


class FolderResolver(Resolver):
    """Files on disk, relative to ``folder`` (the course file's folder; ``None``: the current folder)."""

    def __init__(self, folder: Path | str | None = None) -> None:
        self.folder = Path(folder) if folder is not None else None

    def path(self, name: str) -> Path:
        path = Path(name)
        return path if self.folder is None or path.is_absolute() else self.folder / path

    def has(self, name: str) -> bool:
        return self.path(name).exists()

    def read(self, name: str, what: str = "") -> str:
        return read_text(self.path(name), name, what)

    def folder_of(self, name: str | None) -> Path | None:
        return self.folder if name is None else self.path(name).parent

    def __repr__(self) -> str:
        return f"FolderResolver({str(self.folder)!r})"


class MappingResolver(Resolver):
    """Files given as texts, by the names the course gives them (``{"site-nanjing.toml": "name = …"}``).

    A name is found as written, or as the same relative path written differently (``./a/../site.toml``).
    Nothing on disk is read; a site's relative ``templates`` folder is kept as written.
    """

    def __init__(self, files: Mapping[str, str]) -> None:
        self.files = dict(files)
        self._normal = {_normal(name): name for name in self.files}

    def _key(self, name: str) -> str | None:
        if name in self.files:
            return name
        return self._normal.get(_normal(name))

    def has(self, name: str) -> bool:
        return self._key(name) is not None

    def read(self, name: str, what: str = "") -> str:
        key = self._key(name)
        if key is None:
            given = ", ".join(sorted(self.files)) or "none"
            kind = f"{what} " if what else ""
            raise InputError(f"no such {kind}file among the files given with the course (given: {given})",
                             source=name)
        return self.files[key]

    def folder_of(self, name: str | None) -> Path | None:
        return None

    def __repr__(self) -> str:
        return f"MappingResolver({sorted(self.files)!r})"


def _normal(name: str) -> str:
    return posixpath.normpath(PurePath(name).as_posix())


def resolver_for(files: Resolver | Mapping[str, str] | Path | str | None) -> Resolver:
    """A resolver from what a caller has: a resolver, a mapping of name → text, or a folder (``None``:
    the current folder)."""
    if isinstance(files, Resolver):
        return files
    if isinstance(files, Mapping):
        return MappingResolver(files)
    return FolderResolver(files)
