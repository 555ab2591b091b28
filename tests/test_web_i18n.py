"""Every word of the web page exists in Simplified Chinese, with its placeholders (issue 13)."""

from __future__ import annotations

import ast
import re

import pytest

from tests.conftest import ROOT

WEB = ROOT / "picture_schedule" / "web"
TEMPLATES = ROOT / "templates" / "web"


def _template_messages() -> dict[str, str]:
    """``_("…")`` calls in the web templates, found by Jinja's own parser."""
    from jinja2 import Environment
    from jinja2.ext import extract_from_ast

    env = Environment(extensions=["jinja2.ext.i18n"])
    found = {}
    for page in sorted(TEMPLATES.glob("*.html")):
        tree = env.parse(page.read_text(encoding="utf-8"))
        for _line, _function, message in extract_from_ast(tree, gettext_functions=("_",)):
            if isinstance(message, tuple):  # _("Cycle %(n)s", n=…): the message, then None per parameter
                message = message[0]
            if isinstance(message, str):
                found[message] = page.name
    return found


def _python_messages() -> dict[str, str]:
    """``t("…")`` calls in picture_schedule/web/*.py (implicitly joined strings joined)."""
    found = {}
    for module in sorted(WEB.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "t"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found[node.args[0].value] = module.name
    return found


MESSAGES = {**_template_messages(), **_python_messages()}


def test_the_pages_have_words_to_translate():
    assert len(MESSAGES) > 20  # the collection itself works (it found the login page's words)
    assert "Wrong user name or password." in MESSAGES and "User name" in MESSAGES


@pytest.mark.parametrize("message", sorted(MESSAGES))
def test_each_message_has_a_chinese_translation_with_its_placeholders(message):
    from picture_schedule.i18n import gettext

    chinese = gettext("zh-CN", message, web=True)
    assert chinese != message or not re.search(r"[A-Za-z]{2,}", re.sub(r"%\(\w+\)s", "", message)), \
        f"no Chinese for {message!r} ({MESSAGES[message]}): add it to templates/locale/zh_CN/LC_MESSAGES/web*.po"
    assert sorted(re.findall(r"%\(\w+\)s", chinese)) == sorted(re.findall(r"%\(\w+\)s", message))


def test_the_web_catalogues_never_change_an_outputs_words():
    """Diaries, calendars and reports are worded without the web page's catalogues."""
    from picture_schedule.i18n import translations

    outputs, web = translations("zh-CN"), translations("zh-CN", True)
    web_only = {m for m in MESSAGES if outputs.gettext(m) == m and web.gettext(m) != m}
    assert web_only, "the web words are not merged for the web page"
    assert all(outputs.gettext(m) == m for m in web_only)
