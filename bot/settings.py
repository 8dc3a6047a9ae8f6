"""Everything the assistant reads from the environment, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"

DEFAULT_CRISIS_HELP = (
    "If you are in danger or need help right now, please call 999. "
    "You can talk to Samaritans any time, day or night, free on 116 123. "
    "For urgent help with your health you can call NHS 111 (or NHS 24 on 111 in Scotland)."
)


@dataclass(frozen=True)
class Settings:
    """Run-time configuration; see the README's Configuration section."""

    database_url: str
    crisis_help_text: str
    outcome_model_dir: Path
    outcome_threshold: float
    outcome_sure: float
    outcome_unsure_floor: float
    # FHIR export and API (README "FHIR"): where our person ids, the outcome codes and the
    # resources live. Set them to your organisation's URLs.
    fhir_identifier_system: str = "https://talkingpoints.example/fhir/sid/person-id"
    fhir_codesystem_url: str = "https://talkingpoints.example/fhir/CodeSystem/talking-points"
    fhir_base_url: str = "http://127.0.0.1:8000/fhir"
    # SQLite only: NORMAL (WAL journal, durable across crashes of our processes, may lose the
    # last moments on power loss) or FULL (fsync on every commit, ~20 ms a commit here).
    sqlite_synchronous: str = "NORMAL"
    # The extractor's sentence encoder: TUNED (fine-tuned on nlu_data/outcomes, made by the
    # fine-tuning environment) or STOCK (pre-trained all-MiniLM-L6-v2: no PyTorch, less accurate).
    outcome_encoder: str = "TUNED"
    outcome_encoder_dir: Path = VAR_DIR / "outcome_encoder"
    outcome_finetune_python: Path = PROJECT_ROOT / ".venv-finetune" / "bin" / "python"


def _default_database_url() -> str:
    return f"sqlite:///{VAR_DIR / 'outcomes.db'}"


def _choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    value = (os.environ.get(name) or default).strip().upper()
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read settings once per process."""
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or _default_database_url(),
        crisis_help_text=os.environ.get("CRISIS_HELP_TEXT") or DEFAULT_CRISIS_HELP,
        outcome_model_dir=Path(os.environ.get("OUTCOME_MODEL_DIR") or VAR_DIR / "outcome_model"),
        outcome_threshold=float(os.environ.get("OUTCOME_THRESHOLD") or 0.5),
        # Between these two the assistant asks "is that more about A or B?" instead of guessing
        # (chosen on the development set: see README "Outcome understanding").
        outcome_sure=float(os.environ.get("OUTCOME_SURE") or 0.55),
        outcome_unsure_floor=float(os.environ.get("OUTCOME_UNSURE_FLOOR") or 0.35),
        fhir_identifier_system=os.environ.get("FHIR_IDENTIFIER_SYSTEM")
        or Settings.fhir_identifier_system,
        fhir_codesystem_url=os.environ.get("FHIR_CODESYSTEM_URL") or Settings.fhir_codesystem_url,
        fhir_base_url=(os.environ.get("FHIR_BASE_URL") or Settings.fhir_base_url).rstrip("/"),
        sqlite_synchronous=_choice(
            "SQLITE_SYNCHRONOUS", ("NORMAL", "FULL"), Settings.sqlite_synchronous
        ),
        outcome_encoder=_choice("OUTCOME_ENCODER", ("TUNED", "STOCK"), Settings.outcome_encoder),
        outcome_encoder_dir=Path(
            os.environ.get("OUTCOME_ENCODER_DIR") or Settings.outcome_encoder_dir
        ),
        outcome_finetune_python=Path(
            os.environ.get("OUTCOME_FINETUNE_PYTHON") or Settings.outcome_finetune_python
        ),
    )
