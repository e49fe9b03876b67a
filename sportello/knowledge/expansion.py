"""Query expansion for the lexical side: how volunteers ask → the words our documents use.

Applied to the BM25 query and to sentence scoring, never to the text shown to anyone. Each
entry maps a colloquial phrasing to the technical terms of the same idea; the list is about the
language of the subject, not about particular questions.
"""

from __future__ import annotations

import re
from functools import lru_cache

_EXPANSIONS: list[tuple[str, str]] = [
    (
        r"cosa succede se|cosa rischi|cosa si rischia|che succede se|conseguenz",
        "sanzioni conseguenze",
    ),
    (
        r"entro quando|che scadenz|quando (?:va|vanno|si deve|bisogna|devo|dobbiamo)|deadline",
        "termine scadenza entro",
    ),
    (
        r"quanto tempo|quanti giorni|in quanto tempo|quanto ci (?:vuole|mette)|how long",
        "tempi termine giorni",
    ),
    (
        r"chi (?:vigila|controlla|sorveglia)|chi fa i controlli|who supervises",
        "vigilanza autorità controllo",
    ),
    (r"quanto costa|quanto si paga|costi?\b|how much does", "costo importo euro"),
    (r"\bsoldi\b|denaro|quattrini", "fondi somme importi"),
    (
        r"requisit\w*|cosa (?:serve|servono|ci vuole)|che cosa serve|condizion\w*",
        "requisiti condizioni minimo",
    ),
    (r"quant[ie] (?:soci|associati|persone|membri)", "numero minimo associati"),
    (r"dimenticat\w*|in ritardo|\btardi\b|scadut\w*|recuperare", "tardiva ritardo termine"),
    (r"consiglier\w*|amministrator\w*|direttivo", "organo di amministrazione consiglio"),
    (r"\bonline\b|sul sito|internet|web", "sito internet pubblicare"),
    (r"scaricare|detrarre|dedurre|sconto fiscale|risparmio fiscale", "detrazione deduzione"),
    (r"\bstipendi\w*|\bbusta paga\b|\bpaga (?:oraria|mensile)\b", "retribuzione lavoratori"),
    (r"\bper (?:lettera|posta)\b|\bvia posta\b", "corrispondenza"),
    (
        r"\bcassett[ae] (?:delle )?offerte|\bcassettin\w*|\bsalvadanai\w*",
        "donazioni erogazioni liberali",
    ),
    (r"senza gara|affidamento diretto|affidare direttamente", "procedura comparativa affidamento"),
    (r"\bnotaio\b", "atto pubblico notaio"),
    (r"scegl\w*|scelt[ao]\b|selezion\w*", "individuare procedura selezione"),
    (r"\bpaghiamo\b|dobbiamo pagare|si paga", "imposta pagamento esenzione"),
    (r"\bvolontar[io]\b.*(?:pagat|rimbors|soldi)|rimborso", "rimborso spese volontari"),
]
# English questions meet Italian documents: the subject's English words bring the Italian
# terms our documents use to the lexical side (the dense side is multilingual already). A
# glossary of the field, like the list above, never a list of questions.
_ENGLISH: list[tuple[str, str]] = [
    (r"\bregist(?:er|ered|ering|ration|ry)\b", "iscrizione registro RUNTS"),
    # Question words: what kind of answer is asked for, in the documents' words.
    (r"\bsince when\b|\boperational\b|\bup and running\b", "da quando operativo avvio"),
    (r"\bhow many\b", "quanti numero"),
    (r"\bwhat happens if\b|\bconsequences?\b|\brisks?\b", "conseguenze sanzioni"),
    (r"\bmust\b|\bhave to\b|\bmandatory\b|\brequired\b|\bobliged\b", "obbligo obbligatorio"),
    (r"\ballowed\b|\bpermitted\b|\bcan (?:we|i|an?|the)\b", "può possono consentito"),
    (r"\bwho (?:can|may)\b", "chi può"),
    (r"\bassociations?\b", "associazione"),
    (r"\bvolunteer(?:s|ing)?\b", "volontari volontariato"),
    (r"\bmembers?(?:hip)?\b", "soci associati ammissione"),
    (r"\b(?:annual|financial) (?:accounts|statements?|report)|\bbudget\b", "bilancio rendiconto"),
    (r"\bcash[- ]based|\bcash accounting", "rendiconto per cassa"),
    (r"\btax(?:es|ed|ation)?\b|\bfiscal\b", "imposte fiscale regime"),
    (r"\bvat\b", "IVA"),
    (r"\bdonat(?:e|ed|ion|ions|or|ors)\b|\bgifts?\b", "erogazioni liberali donazioni"),
    (r"\bdeduct(?:ible|ion)?|\btax (?:credit|relief|break)", "detrazione deduzione"),
    (r"\breceipts?\b", "ricevuta"),
    (r"\bcash\b(?![- ]based)", "contanti denaro contante"),
    (r"\bboard\b|\bdirectors?\b|\btrustees?\b", "organo di amministrazione consiglio direttivo"),
    (r"\bstatutes?\b|\bbylaws?\b|\barticles of association", "statuto atto costitutivo"),
    (r"\b(?:general )?meetings?\b|\bassembly\b", "assemblea"),
    (r"\bminutes\b", "verbale libro verbali"),
    (r"\bemploy(?:ee|ees|ed|ment)\b|\bstaff\b|\bworkers?\b|\bhire\b", "lavoratori dipendenti"),
    (r"\bpa(?:y|id|yment)\b|\bsalar(?:y|ies)\b|\bwages?\b", "retribuzione compenso"),
    (r"\brefunds?\b|\breimburse\w*|\bexpenses\b", "rimborso spese"),
    (r"\binsur(?:ance|ed|e)\b", "assicurazione"),
    (r"\bincome\b|\brevenues?\b|\bturnover\b", "entrate proventi ricavi"),
    (r"\bcommercial\b|\bbusiness activit", "attività commerciale"),
    (r"\bfund-?rais\w*", "raccolta fondi"),
    (r"\bsponsor\w*", "sponsorizzazione"),
    (r"\bbequests?\b|\blegac(?:y|ies)\b|\binheritance\b", "lascito successione"),
    (r"\bfive per thousand\b|\b5 ?x ?1000\b|\b5 per mille\b", "5 per mille"),
    (
        r"\bmunicipalit(?:y|ies)\b|\bpublic (?:bod(?:y|ies)|administration)|\bcouncil\b",
        "amministrazione pubblica comune ente pubblico",
    ),
    (r"\bco-?design\w*|\bco-?planning", "coprogettazione coprogrammazione"),
    (r"\bgrants?\b|\bcalls? for proposals", "contributi bando"),
    (
        r"\bdissol(?:ve|ution)|\bwind(?:ing)? up|\bwound up|\bclos(?:e|es|ed|ing) down",
        "scioglimento devoluzione patrimonio",
    ),
    (r"\bassets?\b", "patrimonio beni"),
    (r"\bfound(?:ing)?\b|\bset up\b|\bstart an?\b", "costituzione fondare"),
    (r"\bdeadlines?\b|\bby when\b|\bdue (?:by|date)\b", "termine scadenza entro"),
    (r"\bpenalt(?:y|ies)\b|\bfined\b|\bsanctions?\b", "sanzioni"),
    (r"\bprivacy\b|\bpersonal data\b|\bdata protection\b", "dati personali privacy"),
    (r"\bsocial (?:enterprise|cooperative)", "impresa sociale cooperativa sociale"),
    (
        r"\bcharit(?:y|ies|able)\b|\bnon-?profits?\b|\bngos?\b|\bthird sector\b",
        "ente del terzo settore",
    ),
    # Bodies, documents and procedures of the reform.
    (r"\bsocial (?:report|statement|accounts?)\b", "bilancio sociale"),
    (r"\bsupervisory (?:body|board)|\bauditors?\b|\bcontrol body", "organo di controllo revisore"),
    (r"\b(?:statutory|legal) audit", "revisione legale"),
    (r"\bfil(?:e|ed|ing)\b|\bsubmit\w*|\blodg(?:e|ing)\b", "deposito depositare presentare"),
    (r"\blegal (?:personality|entity status)|\bincorporat\w*", "personalità giuridica"),
    (r"\bendowment\b|\bminimum (?:capital|assets)", "patrimonio minimo"),
    (r"\bnotar(?:y|ies)\b", "notaio"),
    (
        r"\bnetworks? of (?:associations|entities)|\bumbrella (?:body|organi[sz]ation)",
        "reti associative",
    ),
    (r"\bgeneral interest\b", "attività di interesse generale"),
    (
        r"\bsecondary activit|\bother activit|\bbesides (?:its|our) activit",
        "attività diverse secondarie",
    ),
    (r"\bflat[- ]rate\b|\blump[- ]sum\b", "forfettario forfetario"),
    (r"\bexempt(?:ion|ed)?\b|\boutside the scope of vat", "esenzione esclusione"),
    (r"\bstamp dut(?:y|ies)", "imposta di bollo"),
    (r"\bregistration tax", "imposta di registro"),
    (r"\binheritance tax|\bgift tax", "imposta di successione e donazione"),
    (
        r"\braffles?\b|\blotter(?:y|ies)\b|\bbingo\b",
        "lotteria tombola pesca di beneficenza",
    ),
    (r"\bnotif(?:y|ied|ication)\b|\bnotice\b|\binform the authorities", "comunicazione avviso"),
    (r"\bprefect\b", "prefetto"),
    (r"\bpublic notice|\bcall for (?:partners|applications)", "avviso pubblico"),
    (r"\bagreements?\b|\bconventions?\b", "convenzione accordo"),
    (r"\bshared administration|\bcollaborative administration", "amministrazione condivisa"),
    (r"\bconstitutional court", "Corte costituzionale sentenza"),
    (r"\bcollaboration pacts?|\bcommons\b", "patto di collaborazione beni comuni"),
    (r"\bself[- ]?certif\w*|\bself[- ]declaration", "autocertificazione"),
    (r"\baccidents?\b|\binjur(?:y|ies|ed)\b", "infortuni"),
    (r"\bliabilit(?:y|ies)\b", "responsabilità civile"),
    (r"\bpayroll\b|\bpaid (?:staff|job|position)", "lavoratore retribuito dipendente"),
    (r"\baccounting books|\bbookkeeping", "scritture contabili"),
    (r"\bbooks\b|\bregisters? (?:of|we must keep)", "libri sociali registro"),
    (r"\bmembership fees?|\bannual fee|\bmembers' fees?", "quota associativa"),
    (r"\bmerg(?:e|er|ing)\b|\bconver(?:t|sion)\b|\btransform\w*", "fusione trasformazione"),
    (r"\bmutual (?:aid|benefit)", "società di mutuo soccorso"),
    (r"\bphilanthrop\w*|\bgrant-?making", "enti filantropici"),
    (r"\bsports? (?:club|association)", "associazione sportiva dilettantistica"),
    (r"\bdata controller", "titolare del trattamento GDPR"),
    (r"\bsafety at work|\bhealth and safety|\brisk assessment", "sicurezza sul lavoro DVR"),
    (
        r"\bvolunteer (?:service )?cent(?:re|er)s?",
        "centro di servizio per il volontariato CSV",
    ),
    (
        r"\baccount(?:ing)? for\b|\breport(?:ing)? (?:back|on how)|\bhow we spent",
        "rendiconto rendicontazione",
    ),
    (r"\btransparen\w*|\bpublish\w*|\bdisclos\w*", "pubblicare trasparenza sito"),
    (r"\bbank account|\btraceab\w*|\bbank transfer", "conto corrente tracciabile bonifico"),
    (r"\bfestivals?\b|\bfairs?\b|\bfood stalls?|\bcatering\b", "sagra festa somministrazione"),
    (
        r"\bsecond-?hand\b|\bdonated goods|\bgoods (?:people|donors) gave",
        "beni ricevuti gratuitamente usato",
    ),
    (r"\bmusic\b|\bcopyright\b", "SIAE musica diritti d'autore"),
    (r"\bwills?\b|\btestament\w*", "testamento lascito"),
    (r"\bplatforms?\b", "piattaforma"),
    (r"\bhelp desk\b|\bappointment\b|\bexpert\b", "sportello appuntamento esperto"),
    (r"\baccounting (?:standards?|principles?|rules)\b", "principio contabile OIC"),
    (r"\b(?:income )?tax returns?\b", "dichiarazione dei redditi"),
    (r"\baccruals?(?:[- ]basis)?\b", "bilancio per competenza"),
    (r"\bmission report\b|\bexplanatory notes?\b", "relazione di missione"),
    (r"\bappeal\w*|\bchalleng\w*|\bcontest(?:ed|ing)?\b", "ricorso impugnare"),
    (r"\bcourts?\b|\btribunal\b|\bjudge\b", "tribunale giudice"),
    (r"\bexpel\w*|\bexpulsion\b|\bkick(?:ed)? out\b", "esclusione socio"),
    (r"\bresign\w*|\bwithdraw\w*|\bleav(?:e|ing) the association", "recesso dimissioni"),
    (r"\bconflicts? of interests?\b", "conflitto di interessi"),
    (r"\belect(?:s|ed|ion|ions)?\b|\bvot(?:e|es|ing)\b", "elezione voto"),
    (r"\bproxy\b|\bproxies\b", "delega"),
    (r"\brejected\b|\bturn(?:s|ed)? down\b|\brefus(?:e|ed|al)\b", "rifiuto diniego"),
    (r"\bcancel(?:s|led|ling|lation)?\b|\bstruck off\b|\bremoved from the regist", "cancellazione"),
    (r"\bmayor\b", "sindaco"),
    (r"\bdraw(?:n|s|ing)?\b", "estrazione"),
    (r"\bmatch(?:ed|ing)[- ](?:funding|giving|donations?)\b", "match funding raddoppio"),
    (r"\btargets?\b|\bgoals?\b", "obiettivo"),
    (r"\breward[- ]based\b|\brewards?\b", "reward ricompensa"),
    (r"\binvest(?:ors?|ment)\b", "equity lending investimento"),
    (r"\bpremises\b|\bheadquarters\b|\bbuilding\b|\bhall\b", "sede immobile locali"),
    (r"\blease\b|\brent(?:al|ed|ing)?\b", "locazione affitto"),
    (r"\bfree loan\b|\bloan for use\b", "comodato d'uso gratuito"),
    (r"\bproperty tax\b", "IMU"),
    (r"\bwithholding tax\b|\bwithh[oe]ld\w*|\bhold(?:s|ing)? back\b", "ritenuta d'acconto"),
    (r"\bminors?\b|\bunder[- ](?:18|age)\b|\bteen(?:ager)?s?\b", "minorenni"),
    # Plain words of a foreign volunteer or board member.
    (r"\btreasurer\b", "tesoriere"),
    (r"\btax (?:code|id|number)\b|\bfiscal code\b", "codice fiscale"),
    (r"\bvat (?:number|registration|id)\b|\bregister for vat\b", "partita IVA"),
    (r"\b\d+ ?k\b|\bthousand euros?\b", "euro entrate"),
    (
        r"\bper hour\b|\ban hour\b|\bhourly\b|\bfor (?:their|his|her|my) time\b",
        "retribuita compenso",
    ),
    (
        r"\blist of (?:our |the )?volunteers\b|\bvolunteers? (?:list|register)\b",
        "registro dei volontari",
    ),
    (r"\bdebts?\b|\bowe[sd]?\b|\bcreditors?\b", "debiti obbligazioni"),
    (r"\bchair(?:man|woman|person)?\b", "presidente legale rappresentante"),
    (r"\baccountants?\b|\bbookkeepers?\b", "commercialista consulente"),
    (r"\bagm\b|\bannual general meeting", "assemblea approvazione bilancio"),
    (r"\btown hall\b|\bcity hall\b|\bcity council\b", "comune"),
]
_COMPILED = [(re.compile(p, re.IGNORECASE), extra) for p, extra in (*_EXPANSIONS, *_ENGLISH)]


@lru_cache(maxsize=1024)
def expand(query: str) -> str:
    """`query` plus the technical terms of the phrasings it uses. Remembered: retrieval and
    the composer expand the same question, and sixty case-blind searches cost ~0.3 ms."""
    extras = [extra for pattern, extra in _COMPILED if pattern.search(query)]
    return f"{query} {' '.join(extras)}" if extras else query
