"""Message text to safe HTML: paragraphs, links, and [n] markers pointing at their sources."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
MARKER = re.compile(r"\[(\d{1,2})\]")
BULLET = re.compile(r"^\s*[-•*]\s+")


def _inline(line: str, anchor: str | None, numbers: set[int]) -> str:
    html = str(escape(line))
    html = URL.sub(
        lambda m: f'<a href="{m.group(0)}" rel="noopener noreferrer">{m.group(0)}</a>', html
    )
    if anchor:
        html = MARKER.sub(
            lambda m: (
                (
                    f'<a class="cite" href="#{anchor}-{m.group(1)}" '
                    f'aria-label="fonte {m.group(1)}">[{m.group(1)}]</a>'
                )
                if int(m.group(1)) in numbers
                else m.group(0)
            ),
            html,
        )
    return html


def to_html(text: str, *, anchor: str | None = None, numbers: set[int] | None = None) -> Markup:
    """Blank lines make paragraphs, "- " lines make lists, single newlines make line breaks."""
    blocks = [b for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    out = []
    for block in blocks:
        lines = block.splitlines()
        if all(BULLET.match(ln) for ln in lines):
            items = "".join(
                "<li>" + _inline(BULLET.sub("", ln), anchor, numbers or set()) + "</li>"
                for ln in lines
            )
            out.append(f"<ul>{items}</ul>")
        else:
            out.append(
                "<p>" + "<br>".join(_inline(ln, anchor, numbers or set()) for ln in lines) + "</p>"
            )
    return Markup("".join(out))
