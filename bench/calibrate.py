"""Calibrate the answer/escalate threshold on the dev questions: accuracy for each threshold.

`python -m bench.calibrate` (after `sportello kb ingest`) prints threshold vs action accuracy,
fact hit rate and how many answerable questions would be escalated, for the current index.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from sportello.app import build_assistant
from sportello.config import PROJECT_ROOT, Settings
from sportello.knowledge.service import build_knowledge

EVAL_FILE = PROJECT_ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
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


def main(path: Path = EVAL_FILE) -> None:
    settings = Settings()
    kb = build_knowledge(settings)
    questions = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    questions += [
        {"id": f"u{i}", "question": q, "expected_action": "escalate", "expected_facts": []}
        for i, q in enumerate(UNCOVERED, 1)
    ]
    print(f"{'threshold':>9} {'action acc':>10} {'fact hit':>8} {'answerable escalated':>21}")
    for threshold in [0.0, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8]:
        assistant = build_assistant(settings.model_copy(update={"answer_threshold": threshold}), kb)
        correct = hits = answerable = escalated = 0
        for q in questions:
            reply = assistant.reply([], q["question"])
            correct += reply.action == q["expected_action"]
            if q["expected_action"] == "answer":
                answerable += 1
                escalated += reply.action == "escalate"
                text = reply.full_text()
                hits += reply.action == "answer" and all(
                    re.search(f, text, re.I) for f in q["expected_facts"]
                )
        print(
            f"{threshold:>9.2f} {correct / len(questions):>10.3f} {hits / answerable:>8.3f} "
            f"{escalated:>21d}"
        )


if __name__ == "__main__":
    main()
