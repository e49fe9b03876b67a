"""Which of a document's sources a quoted passage is cited with."""

from __future__ import annotations

import pytest

from sportello.knowledge.attribution import cited_source

LAW = (
    "https://www.gazzettaufficiale.it/atto/serie_generale/caricaArticolo?art.versione=1"
    "&art.idGruppo=3&art.codiceRedazionale=17G00128&art.idArticolo=17&art.idSottoArticolo=1"
)
ODV_ARTICLE = "https://www.e-glossa.it/wiki/decreto_legislativo_del_2017_numero_117_art._34.aspx"
CIVIL_CODE = "https://brocardi.it/codice-civile/libro-quarto/titolo-ix/art2043.html"
CSV_FAQ = "https://cesvot.it/consulenza/domande-frequenti/limiti-rimborso-spese-volontari"
COMMENTARY = "https://promosferae.org/2021/10/28/i-rimborsi-spese-negli-enti-del-terzo-settore/"
LONG_PATH = (
    "https://example.org/raccolta-di-massime-civili-classificate-per-materia/associazioni-e-"
    "fondazioni-riconosciute-senza-fini-di-lucro-settore-sportivo-sentenza-del-1991.html"
)
TAX_OFFICE = "https://www.agenziaentrate.gov.it/portale/web/guest/schede/istanze/eas"
SOURCES = (COMMENTARY, LAW, ODV_ARTICLE, CIVIL_CODE, CSV_FAQ, LONG_PATH, TAX_OFFICE)


@pytest.mark.parametrize(
    ("passage", "link"),
    [
        # The article the passage names, whatever the address's form.
        ("Nelle ODV le cariche sociali sono gratuite (art. 34, comma 2).", ODV_ARTICLE),
        ("Secondo l'art. 17, comma 6, del Codice non è volontario il socio occasionale.", LAW),
        ("Risponde chi causa il danno, secondo l'art. 2043 del Codice civile.", CIVIL_CODE),
        # The body the passage names, on its own site.
        ("Secondo il Cesvot conviene decidere in anticipo quali spese rimborsare.", CSV_FAQ),
        ("L'Agenzia delle Entrate lo chiarisce nella sua guida.", TAX_OFFICE),
        # The subject, when most of an address's words are the passage's.
        ("I limiti al rimborso delle spese dei volontari li fissa l'ente.", CSV_FAQ),
        # Nothing points anywhere: the document's first source, as before.
        ("Conviene tenere tutte le pezze giustificative in ordine.", COMMENTARY),
        # A long address sharing a few common words is no evidence.
        ("Le associazioni senza fini di lucro possono avere soci sostenitori.", COMMENTARY),
    ],
)
def test_a_passage_is_cited_with_the_source_it_names(passage: str, link: str) -> None:
    assert cited_source(SOURCES, passage) == link


def test_only_web_addresses_are_cited() -> None:
    assert cited_source(("file:///etc/passwd", "javascript:alert(1)"), "art. 17") == ""
    assert cited_source(("notes.txt", CSV_FAQ), "Secondo l'art. 17…") == CSV_FAQ
