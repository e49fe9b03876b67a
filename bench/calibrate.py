"""Calibrate the answer/escalate threshold on the golden set's `tune` split (never `holdout`).

`python -m bench.calibrate [FILE ...]` (after `sportello kb ingest`) prints threshold vs action
accuracy, fact hit rate and how many answerable questions would be escalated, for the current
index. Questions: the `tune` items of eval/golden.jsonl, the uncovered questions below, and
../shared/eval/dev_questions.jsonl as an optional extra when it exists.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.golden import GOLDEN_FILE, THRESHOLDS, load_golden, replies, score
from sportello.config import PROJECT_ROOT, Settings
from sportello.knowledge.service import build_knowledge
from sportello.services import build_assistant

DEV_FILE = PROJECT_ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
# Questions in the subject's vocabulary that the knowledge base does not cover: a person
# should take them (escalate), so they calibrate the low-confidence side.
UNCOVERED = [
    "Come si registra un marchio per la nostra associazione?",
    "Serve la SIAE per la musica alla festa dell'associazione?",
    "Come si assume un dipendente part-time con il CCNL del commercio?",
    "La nostra APS può gestire un bar aperto al pubblico con licenza?",
    "Come funziona il servizio civile universale per gli enti?",
    "Quali sono le regole igieniche per la somministrazione di alimenti a una sagra?",
    "Che obblighi ci sono per la sicurezza sul lavoro dei volontari (D.Lgs. 81/2008)?",
    "Come si fa la domanda per il contributo regionale alle ODV delle Marche?",
]


def main(paths: list[Path] | None = None) -> None:
    settings = Settings()
    kb = build_knowledge(settings)
    questions = [q for q in load_golden(paths or [GOLDEN_FILE]) if q["split"] == "tune"]
    if DEV_FILE.exists():
        questions += [json.loads(x) for x in DEV_FILE.read_text().splitlines() if x.strip()]
    questions += [
        {"id": f"u{i}", "question": q, "expected_action": "escalate", "expected_facts": []}
        for i, q in enumerate(UNCOVERED, 1)
    ]
    print(f"{'threshold':>9} {'action acc':>10} {'fact hit':>8} {'answerable escalated':>21}")
    for threshold in (0.0, 0.3, *THRESHOLDS, 0.8):
        assistant = build_assistant(settings.model_copy(update={"answer_threshold": threshold}), kb)
        records = replies(assistant, questions)
        figures = score(questions, records)
        escalated = sum(
            q["expected_action"] == "answer" and r["action"] == "escalate"
            for q, r in zip(questions, records, strict=True)
        )
        print(
            f"{threshold:>9.2f} {figures['action_accuracy']:>10.3f} {figures['fact_hit']:>8.3f} "
            f"{escalated:>21d}"
        )


if __name__ == "__main__":
    main([Path(a) for a in sys.argv[1:]] or None)
