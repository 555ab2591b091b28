"""Fonts the machine has: whether a PDF with Chinese text can be printed without empty boxes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

#: The Debian package that brings the CJK fonts the PDFs use.
CJK_PACKAGE = "fonts-noto-cjk"
# Ideographs, CJK punctuation, kana, full-width forms: text a Latin font cannot draw.
_CJK = re.compile("[\u2e80-\u2fdf\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def cjk_font_available() -> bool:
    """Whether fontconfig knows a font that covers Chinese (``fc-list :lang=zh``)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:  # no fontconfig tools: look where font packages install
        roots = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts",
                 Path.home() / ".local/share/fonts"]
        pattern = re.compile(r"cjk|wqy|sourcehan|droidsansfallback|notosanssc|notoserifsc", re.I)
        return any(pattern.search(p.name) for root in roots if root.is_dir() for p in root.rglob("*"))
    try:
        done = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


def needs_cjk(html: str, language: str) -> bool:
    """Whether a document in ``language`` with this text needs a CJK font."""
    return language == "zh-CN" or bool(_CJK.search(html))
