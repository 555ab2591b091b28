"""Printers: HTML in, PDF bytes out. WeasyPrint (the default, pure pip) or a headless Chromium.

A printer is made once and prints many documents: WeasyPrint keeps its fonts loaded between
documents, the Chromium printer keeps one browser running (no start-up per diary). Both read only
``data:`` URLs and files inside the job's folders (a site's logo next to its templates): a template
cannot make a PDF fetch from the network, attach or show other files of the computer.

weasyprint is imported when a WeasyPrint printer is made; the Chromium printer needs no Python
package, only the ``chromium`` program (:mod:`picture_schedule.render.chromium`).
"""

from __future__ import annotations

import gc
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from picture_schedule.errors import OutputError

T = TypeVar("T")

ENGINES = ("weasyprint", "chromium")
DEFAULT_ENGINE = "weasyprint"


@dataclass(frozen=True)
class PrintJob:
    """One self-contained HTML document; relative URLs resolve against ``base_url`` (a folder's
    ``file:`` URI ending in ``/``) and may read files inside ``folders`` only."""

    html: str
    base_url: str
    folders: tuple[Path, ...]


class Printer(Protocol):
    """Prints jobs to PDF; ``close()`` frees what it holds (a browser)."""

    engine: str

    def pdf(self, job: PrintJob) -> bytes: ...

    def close(self) -> None: ...


def inside(path: Path, folders: Sequence[Path]) -> bool:
    """Whether ``path`` (resolved: no ``..`` or link leads out) lies inside one of ``folders``."""
    path = path.resolve()
    return any(path.is_relative_to(Path(folder).resolve()) for folder in folders)


def local_fetcher(folders: Sequence[Path]):  # -> weasyprint.urls.URLFetcher
    """WeasyPrint's fetcher, limited to ``data:`` URLs and files inside ``folders`` (a site's logo):
    a template cannot make the PDF fetch from the network or attach other files of the computer."""
    from urllib.parse import unquote, urlsplit

    from weasyprint.urls import URLFetcher

    class LocalFetcher(URLFetcher):
        def fetch(self, url: str, headers: object = None):  # -> weasyprint.urls.URLFetcherResponse
            parts = urlsplit(url)
            if parts.scheme == "file":
                if inside(Path(unquote(parts.path)), folders):
                    return super().fetch(url, headers)
            elif parts.scheme == "data":
                return super().fetch(url, headers)
            raise ValueError(f"the diary reads only files of its template folders, not {url[:80]!r}")

    return LocalFetcher(allowed_protocols=("file", "data"), allow_redirects=False)


_ROOM = 65_536  # value-stack slots of 8 bytes: 512 KiB, so CPython gives the frame a 1 MiB chunk


def _call(function: Callable[..., T], *args: Any) -> T:
    return function(*args)


def _roomy(call: Callable[..., T]) -> Callable[..., T]:
    """``call`` with a frame of half a megabyte (a copy of its code declaring a deep value stack)."""
    try:
        code = call.__code__.replace(co_stacksize=call.__code__.co_stacksize + _ROOM)
        return types.FunctionType(code, call.__globals__, call.__name__)
    except (AttributeError, TypeError, ValueError):  # not CPython: call it as it is
        return call


#: ``on_roomy_stack(f, *args)`` calls ``f(*args)`` with room for thousands of Python frames above it
#: in one block of memory. CPython keeps frames in 16 KiB chunks and frees a chunk as soon as the
#: call that opened it returns (python/cpython#142183; fixed only in later 3.13 and 3.14 releases):
#: WeasyPrint's layout recursion crosses a chunk's edge thousands of times a diary, and each
#: crossing asked the system for memory and gave it back (15,000 mmap/munmap pairs and 30,000 page
#: faults a diary: 0.2 s of a 1.4 s print). In the large chunk this frame opens, every deeper frame
#: fits. Nothing else changes: the PDF is the same, byte for byte.
on_roomy_stack: Callable[..., Any] = _roomy(_call)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, as it was after.

    Laying out a diary allocates millions of short-lived objects, so the collector would run
    thousands of times and scan the whole growing box tree each time: a quarter of the print time
    (measured: 1.77 s instead of 2.3 s for the example diary). WeasyPrint's garbage is freed by
    reference counting all the same (peak memory unchanged); cycles wait for the next collection.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class WeasyPrinter:
    """WeasyPrint with one font configuration for every document it prints (fonts loaded once)."""

    engine = "weasyprint"

    def __init__(self) -> None:
        import warnings

        # WeasyPrint warns on import when fontconfig has no font at all; pdf() says it in one line
        warnings.filterwarnings("ignore", "(No fonts configured|FontConfig cannot load)", UserWarning)
        from weasyprint.text.fonts import FontConfiguration

        self._fonts = FontConfiguration()
        self._has_fonts: bool | None = None

    def has_fonts(self) -> bool:
        """Whether fontconfig offers any font at all (with none, Pango crashes the process)."""
        if self._has_fonts is None:
            try:
                from weasyprint.text.ffi import fontconfig

                found = fontconfig.FcConfigGetFonts(self._fonts._config, fontconfig.FcSetSystem)
                self._has_fonts = bool(found) and found.nfont > 0
            except Exception:  # noqa: BLE001 — a WeasyPrint made otherwise: let it print
                self._has_fonts = True
        return self._has_fonts

    def pdf(self, job: PrintJob) -> bytes:
        from weasyprint import HTML

        if not self.has_fonts():
            raise OutputError("no fonts are installed, so no PDF can be printed: install a font package "
                              "(Debian: fonts-dejavu-core; for Chinese also fonts-noto-cjk)")

        def write() -> bytes:
            document = HTML(string=job.html, base_url=job.base_url, url_fetcher=local_fetcher(job.folders))
            pdf: bytes = document.write_pdf(font_config=self._fonts)
            return pdf

        with cyclic_gc_paused():
            return on_roomy_stack(write)

    def close(self) -> None:
        pass

    def __enter__(self) -> WeasyPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_default: WeasyPrinter | None = None


def default_printer() -> WeasyPrinter:
    """This process's WeasyPrint printer, made on first use."""
    global _default
    if _default is None:
        _default = WeasyPrinter()
    return _default


def open_printer(engine: str = DEFAULT_ENGINE) -> Printer:
    """A new printer for ``engine`` (``weasyprint`` or ``chromium``); close it when done."""
    if engine == "weasyprint":
        return WeasyPrinter()
    if engine == "chromium":
        from picture_schedule.render.chromium import ChromiumPrinter

        return ChromiumPrinter()
    raise OutputError(f"{engine!r} is not a PDF engine ({', '.join(ENGINES)})", source="--engine")
