"""A registry by name with entry-point plugins: one mechanism for necks and strategies.

Built-ins register with a decorator where they are defined; third-party packages declare an
entry point in their own ``pyproject.toml`` and are loaded the first time a registry is
asked for its names. A plugin that fails to import is remembered with its error, so it
breaks only a request for that plugin, never the others.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, TypeVar

from archsearch.errors import ArchsearchError

T = TypeVar("T")
BUILTIN = "built-in"


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered object and where it came from (``built-in`` or a distribution name)."""

    name: str
    obj: T
    origin: str


class Registry(Generic[T]):
    """Objects by name, plus the entry-point group ``group`` for plugins.

    >>> shapes = Registry("shape", "example.shapes", KeyError)
    >>> @shapes.register("square")
    ... class Square: ...
    >>> shapes.get("square").__name__
    'Square'
    """

    def __init__(self, what: str, group: str, error: type[ArchsearchError]) -> None:
        self.what, self.group, self.error = what, group, error
        self._entries: dict[str, Entry[T]] = {}
        self._broken: dict[str, str] = {}
        self._plugins_loaded = False
        self._loading_origin: str | None = None

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: register the decorated object under ``name``."""

        def decorate(obj: T) -> T:
            known = self._entries.get(name)
            if known is not None and known.obj is not obj:
                raise self.error(f"a {self.what} named {name!r} is already registered")
            self._entries[name] = Entry(name, obj, self._loading_origin or BUILTIN)
            return obj

        return decorate

    def reload(self) -> None:
        """Scan the entry points again, e.g. after a plugin was installed at run time."""
        self._plugins_loaded = False
        self._broken.clear()
        self._load_plugins()

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for entry in entry_points(group=self.group):
            self._load(entry)

    def _load(self, entry: EntryPoint) -> None:
        package = entry.dist.name if entry.dist is not None else entry.value.split(":")[0]
        self._loading_origin = package
        try:
            loaded = entry.load()
            # An entry point names either the object itself, or a module whose import
            # registers its objects with the decorator (how `baselines` registers its necks).
            if not inspect.ismodule(loaded) and entry.name not in self._entries:
                self.register(entry.name)(loaded)
        except Exception as error:  # a broken plugin must not break the others
            self._broken[entry.name] = (
                f"{self.what} plugin {entry.name!r} from package {package!r} "
                f"({entry.value}) failed to import: {type(error).__name__}: {error}"
            )
        finally:
            self._loading_origin = None

    def entries(self) -> list[Entry[T]]:
        """Every working entry, sorted by name."""
        self._load_plugins()
        return [self._entries[name] for name in sorted(self._entries)]

    def available(self) -> list[str]:
        """The names that `get` accepts."""
        return [entry.name for entry in self.entries()]

    def broken(self) -> dict[str, str]:
        """Plugins that failed to import, with the reason."""
        self._load_plugins()
        return dict(self._broken)

    def get(self, name: str) -> T:
        """The object registered as ``name``; the error lists the known names."""
        self._load_plugins()
        if not isinstance(name, str):
            raise self.error(f"{self.what} name {name!r:.40} is not a string")
        if name in self._entries:
            return self._entries[name].obj
        if name in self._broken:
            raise self.error(self._broken[name])
        known = ", ".join(self.available()) or "none"
        raise self.error(f"unknown {self.what} {name!r}; known: {known}")
