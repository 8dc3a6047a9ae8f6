"""FHIR R4 export of personal outcomes, and what the read-only FHIR API serves.

- :mod:`bot.fhir.codesystem`: our Talking Points CodeSystem and the HL7 codes we use;
- :mod:`bot.fhir.records`: loading people's goals, statuses and reviews in bulk;
- :mod:`bot.fhir.resources`: mapping them to Patient, RelatedPerson, Goal and Observation;
- :mod:`bot.fhir.validation`: ``fhir.resources`` parsing plus the code bindings it skips;
- :mod:`bot.fhir.bundle`: Bundles (collection for exports, searchset for the API);
- :mod:`bot.fhir.tokens` and :mod:`bot.fhir.cli`: API tokens (``python -m bot api-token``).

This module stays light (no ``fhir.resources`` import) so callers can catch
:class:`FhirExportError` cheaply.
"""

from __future__ import annotations


class FhirExportError(ValueError):
    """An export that cannot be made: an invalid resource, or an unknown person."""
