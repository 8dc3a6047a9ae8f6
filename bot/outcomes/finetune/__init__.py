"""Fine-tuning all-MiniLM-L6-v2 on our labelled outcome statements.

Only :mod:`.train` and :mod:`.minilm` need PyTorch; they run in the fine-tuning environment
(``.venv-finetune``, Python 3.11 with ``requirements-finetune.txt``), started as a subprocess
by :mod:`bot.outcomes.tuned`. :data:`SETTINGS` is plain data so that the assistant's own
environment can fingerprint a tuned encoder without importing PyTorch.
"""

from bot.outcomes import augment

#: Training settings, chosen on the development set (``tests/data/outcomes_dev.yml``).
#: Changing any of them makes saved tuned encoders stale.
SETTINGS = {
    "version": 2,
    "epochs": 4,
    "batch_size": 32,
    "body_lr": 5e-5,
    "head_lr": 2e-3,
    "warmup": 0.1,
    "weight_decay": 0.01,
    # Sentence vectors are unit length: the head sees them scaled up so its logits can spread.
    "head_scale": 20.0,
    "max_tokens": 128,
    "seed": 13,
    # Two-part statements joined from the training lines (bot.outcomes.augment), as a share of
    # them; the extractor's regression sees the same ones.
    "two_part_share": augment.SHARE,
    "two_part_seed": augment.SEED,
}
