"""A Rasa NLU component that makes sure plain crisis messages are read as ``distress``.

It runs after the intent classifier. When ``bot.safety.looks_like_crisis`` matches, the
message's intent becomes ``distress`` with full confidence, whatever the model guessed, so
the dialogue's safety rules always fire.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.safety import looks_like_crisis

DISTRESS = "distress"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class CrisisOverride(GraphComponent):
    """Overrides the predicted intent with ``distress`` for plain crisis messages."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CrisisOverride:
        """Build the component; it has no state."""
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        """Set the intent of each crisis message to ``distress``."""
        for message in messages:
            if looks_like_crisis(message.get(TEXT)):
                override = {INTENT_NAME_KEY: DISTRESS, "confidence": 1.0}
                ranking = [override] + [
                    r
                    for r in (message.get(INTENT_RANKING_KEY) or [])
                    if r.get(INTENT_NAME_KEY) != DISTRESS
                ]
                message.set(INTENT, override, add_to_output=True)
                message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
