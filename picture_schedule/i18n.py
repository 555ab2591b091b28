"""One message catalogue for every output (diary, calendar, reports), English and Simplified Chinese.

Messages are written in English in the source and templates; translations live in gettext ``.po``
files under ``templates/locale/<locale>/LC_MESSAGES/`` (one file per output, all merged), compiled
with Babel when first used. Dates and weekday names are formatted by Babel for the language.
"""

from __future__ import annotations

import io
from functools import lru_cache

from picture_schedule.resources import templates_dir

LOCALES = {"en": "en", "zh-CN": "zh_CN"}


@lru_cache(maxsize=None)
def translations(language: str, web: bool = False):  # -> babel.support.Translations
    """Merged translations for ``language`` (``en`` returns the messages unchanged). The web page's
    catalogues (``web*.po``) are merged only for the web page (``web``), and after the others: a word
    the web page translates can never change a diary's, a calendar's or a report's."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import NullTranslations, Translations

    locale = LOCALES.get(language)
    if locale is None:
        from picture_schedule.errors import InputError

        raise InputError(f"{language!r} is not a supported language ({', '.join(LOCALES)})", source="--lang")
    folder = templates_dir() / "locale" / locale / "LC_MESSAGES"
    merged = None
    catalogues = sorted(folder.glob("*.po")) if folder.is_dir() else []
    for po in [p for p in catalogues if not p.name.startswith("web")] + ([p for p in catalogues if p.name.startswith("web")] if web else []):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        part = Translations(buffer, domain=po.stem)
        if merged is None:
            merged = part
        else:
            merged.merge(part)
    return merged or NullTranslations()


def gettext(language: str, message: str, *, web: bool = False) -> str:
    return translations(language, web).gettext(message)


def ngettext(language: str, singular: str, plural: str, n: int) -> str:
    return translations(language).ngettext(singular, plural, n)


def babel_locale(language: str) -> str:
    return LOCALES.get(language, "en")
