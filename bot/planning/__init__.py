"""Documents made from a person's saved outcomes: the PA employer's Personal Outcomes Plan."""
