"""A draft Personal Outcomes Plan for a PA employer, in their own words.

Three sections from the saved summary (what matters to me; how I want to be supported,
phrased as guidance for PAs; what I want to change), then what helps PAs understand those
outcomes: a paragraph for a PA job description, interview questions, and a checklist. The
headings and prompts are ours; every quotation is the person's words.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from bot.outcomes.framework import OUTCOMES
from bot.storage.repository import SummaryItem

SECTIONS = (
    ("quality_of_life", "What matters to me"),
    ("process", "How I want to be supported and treated: guidance for my PAs"),
    ("change", "What I want to change"),
)

# One interview question per outcome, asked of a prospective PA.
INTERVIEW_QUESTIONS = {
    "feeling_safe": "What would you do to help me feel safe at home and when we are out?",
    "having_things_to_do": "How would you help me keep doing the things I enjoy?",
    "seeing_people": "How would you help me stay in touch with the people who matter to me?",
    "staying_well": "How would you support me to stay as well as I can?",
    "living_as_you_want": "How would you make sure I live my life the way I choose?",
    "dealing_with_stigma": "What would you do if someone treated me unfairly when we were out?",
    "listened_to": "How would you show me that you are listening to what I say?",
    "having_a_say": "How would you make sure I decide how my support is done?",
    "treated_with_respect": "What does treating someone with respect look like in your work?",
    "treated_as_individual": "How would you get to know how I like things done?",
    "responded_to": "What would you do if I needed something changed quickly?",
    "reliability": "How do you make sure you are on time, and what would you do if you were late?",
    "improved_confidence": "How would you help me grow in confidence?",
    "improved_skills": "How would you help me learn to do more for myself, not do it for me?",
    "improved_mobility": "How would you support me to get about more easily?",
    "reduced_symptoms": "How would you help me manage pain or symptoms day to day?",
}

CHECKLIST = (
    "Share this plan with each of my PAs, and go through it together.",
    "Offer my PAs training on personal outcomes, so they know why these matter.",
    "If a PA is self-employed, write these outcomes into their contract.",
    "Ask about these outcomes at interview (see the questions above).",
    "Look at the plan again with my PAs when things change, and at least once a year.",
)


@dataclass(frozen=True)
class PlanItem:
    """One outcome in the plan with the person's words for it."""

    outcome_id: str
    label: str
    quotes: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """The draft plan, ready to render."""

    reference: str
    sections: tuple[tuple[str, tuple[PlanItem, ...]], ...]
    job_description: str
    questions: tuple[str, ...]
    checklist: tuple[str, ...] = field(default=CHECKLIST)


def _phrases(items: tuple[PlanItem, ...]) -> str:
    phrases = [OUTCOMES[i.outcome_id].phrase for i in items]
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _job_description(sections: dict[str, tuple[PlanItem, ...]]) -> str:
    parts = ["I am looking for a Personal Assistant who will support me with what matters to me."]
    if sections.get("quality_of_life"):
        parts.append(f"In my life, that means {_phrases(sections['quality_of_life'])}.")
    if sections.get("process"):
        parts.append(f"How you support me matters: {_phrases(sections['process'])}.")
    if sections.get("change"):
        parts.append(f"I am working towards {_phrases(sections['change'])}.")
    parts.append("My Personal Outcomes Plan says more, in my own words.")
    return " ".join(parts)


def build_plan(reference: str, items: list[SummaryItem]) -> Plan:
    """The plan for one saved conversation's outcomes (person outcome groups only)."""
    by_group: dict[str, tuple[PlanItem, ...]] = {}
    for group, _title in SECTIONS:
        by_group[group] = tuple(
            PlanItem(i.outcome_id, OUTCOMES[i.outcome_id].label, tuple(i.quotes))
            for i in items
            if i.group == group
        )
    questions = tuple(
        INTERVIEW_QUESTIONS[i.outcome_id] for i in items if i.outcome_id in INTERVIEW_QUESTIONS
    )
    return Plan(
        reference=reference,
        sections=tuple((title, by_group[group]) for group, title in SECTIONS),
        job_description=_job_description(by_group),
        questions=questions,
    )


def render_markdown(plan: Plan) -> str:
    """The plan as Markdown (also readable as plain text)."""
    lines = [f"# My Personal Outcomes Plan (draft, {plan.reference})", ""]
    for title, items in plan.sections:
        lines += [f"## {title}", ""]
        if not items:
            lines += ["(Nothing yet.)", ""]
        for item in items:
            words = " ".join(f"\u201c{q}\u201d" for q in item.quotes)
            lines.append(f"- **{item.label}**: {words}")
        lines.append("")
    lines += ["## For my PA job description", "", plan.job_description, ""]
    lines += ["## Questions to ask at interview", ""]
    lines += [f"{n}. {q}" for n, q in enumerate(plan.questions, start=1)] or ["(None yet.)"]
    lines += ["", "## Checklist", ""]
    lines += [f"- [ ] {c}" for c in plan.checklist]
    return "\n".join(lines) + "\n"


def render_text(plan: Plan) -> str:
    """The plan for a chat message: plain lines, no blank lines (channels split at those)."""
    lines = []
    for title, items in plan.sections:
        lines.append(f"{title}:")
        lines += [f"- {i.label}: " + " ".join(f"\u201c{q}\u201d" for q in i.quotes) for i in items]
        if not items:
            lines.append("- (nothing yet)")
    lines += ["For my PA job description:", plan.job_description]
    lines += ["Questions to ask at interview:"] + [
        f"{n}. {q}" for n, q in enumerate(plan.questions, 1)
    ]
    lines += ["Checklist:"] + [f"\u2610 {c}" for c in plan.checklist]
    return "\n".join(lines)


_PRINT_CSS = """
body { font-family: Arial, Helvetica, sans-serif; font-size: 12pt; line-height: 1.5;
       color: #0b0c0c; max-width: 45em; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.5em; }
blockquote, q { quotes: "\\201C" "\\201D"; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; }
               li { break-inside: avoid; } }
"""


def render_html(plan: Plan) -> str:
    """The plan as a standalone HTML page with a print stylesheet; every word escaped."""
    e = html.escape
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>My Personal Outcomes Plan ({e(plan.reference)})</title>",
        f"<style>{_PRINT_CSS}</style></head><body>",
        f"<h1>My Personal Outcomes Plan <small>(draft, {e(plan.reference)})</small></h1>",
    ]
    for title, items in plan.sections:
        out.append(f"<h2>{e(title)}</h2>")
        if not items:
            out.append("<p>(Nothing yet.)</p>")
            continue
        out.append("<ul>")
        for item in items:
            words = " ".join(f"<q>{e(q)}</q>" for q in item.quotes)
            out.append(f"<li><strong>{e(item.label)}</strong>: {words}</li>")
        out.append("</ul>")
    out += ["<h2>For my PA job description</h2>", f"<p>{e(plan.job_description)}</p>"]
    out += ["<h2>Questions to ask at interview</h2>", "<ol>"]
    out += [f"<li>{e(q)}</li>" for q in plan.questions]
    out += ["</ol>", "<h2>Checklist</h2>", "<ul>"]
    out += [f"<li>\u2610 {e(c)}</li>" for c in plan.checklist]
    out += ["</ul>", "</body></html>"]
    return "\n".join(out) + "\n"
