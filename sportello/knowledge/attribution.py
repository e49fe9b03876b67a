"""Which of a document's sources a quoted passage rests on.

A document lists every source it was written from (often ten or more: the law, the Ministry's
notes, a CSV's FAQ, a commentary); a reply quotes a few sentences of one section. Citing the
document's first source for every passage sends a reader to a page that may not say what was
quoted. The passages name what they rest on, and the sources' addresses carry the same names:
- an article ("art. 17, comma 6", "l'art. 2043 del Codice civile") and an address that points
  at that article (`idArticolo=17`, `…art._17.aspx`, `…~art17`, `/art2043.html`);
- a body ("secondo il Cesvot", "Cantiere Terzo settore", "CSVnet") and an address on its site;
- the subject, in the words of the address's path (`/limiti-rimborso-spese-volontari`).
The source with the strongest such evidence is cited; with none, the first (as before).
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from sportello.knowledge.documents import web_link

# "art. 17", "articolo 2043", "artt. 32 e 33", "art. 79-bis"
_ARTICLE_IN_TEXT = re.compile(
    r"\bart(?:icol[oi]|t?\.)\s*(\d{1,4})(?:\s*(?:,|e)\s*(\d{1,4}))?", re.I
)
# idArticolo=17, art._17.aspx, ~art17, /art2043.html, articolo-17, art-17
_ARTICLE_IN_LINK = re.compile(
    r"(?:idarticolo=|art\._?|~art|/art|articolo[-_]|art[-_])(\d{1,4})(?!\d)", re.I
)
_WORD = re.compile(r"[a-zà-ÿ]{4,}")
# Address words that say nothing about the subject.
_NOISE = frozenset(
    [
        "http",
        "https",
        "www",
        "html",
        "aspx",
        "index",
        "wiki",
        "news",
        "articolo",
        "articoli",
        "notizie",
        "dettaglio",
        "pagina",
        "uploads",
        "content",
        "files",
        "documents",
        "allegati",
        "category",
        "tag",
        "serie",
        "generale",
        "atto",
        "caricaarticolo",
        "showthread",
        "threaded",
        "mode",
        "massimario",
        "domande",
        "frequenti",
        "consulenza",
    ]
)
STEM = 5
# Path words shared with the passage that stand without other evidence: at least 3, and half
# of the path's words (a long path shares a few common words with any passage).
MIN_SUBJECT_WORDS = 3
MIN_SUBJECT_SHARE = 0.5


def _stems(words: list[str]) -> frozenset[str]:
    return frozenset(w[:STEM] for w in words if w not in _NOISE)


@lru_cache(maxsize=4096)
def _link_evidence(link: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(article numbers, site name words, path words) of one address."""
    parts = urlsplit(link)
    host = parts.netloc.lower().removeprefix("www.")
    site = [label for label in host.split(".")[:-1] if len(label) >= 3]
    path = unquote(f"{parts.path} {parts.query}").lower()
    articles = frozenset(_ARTICLE_IN_LINK.findall(unquote(link)))
    return articles, frozenset(site), _stems(_WORD.findall(path))


def cited_source(sources: tuple[str, ...], passage: str) -> str:
    """The http(s) source among `sources` that `passage` most likely rests on; the first one
    when nothing in the passage points at another."""
    links = [s for s in sources if s.startswith(("http://", "https://"))]
    if len(links) < 2:
        return web_link(sources)
    text = passage.lower()
    # "CSV di Padova" → "csvpadova", "Agenzia delle Entrate" → "agenziaentrate" (site names)
    squeezed = re.sub(r"[^a-z]", "", re.sub(r"\bd(?:i|el|ell[aoe']|ei|egli)\b", "", text))
    articles = {n for pair in _ARTICLE_IN_TEXT.findall(text) for n in pair if n}
    words = _stems(_WORD.findall(text))
    best, best_score = links[0], 0.0
    for link in links:
        link_articles, site, path = _link_evidence(link)
        score = 2.0 * len(articles & link_articles)
        if any(len(name) >= 4 and name in squeezed for name in site):
            score += 2.0
        shared = len(words & path)
        about = shared >= MIN_SUBJECT_WORDS and shared >= MIN_SUBJECT_SHARE * len(path)
        if score > 0 or about:
            score += 0.5 * shared
        if score > best_score:
            best, best_score = link, score
    return best
