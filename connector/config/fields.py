"""What every client-file section shares: strict frozen models and the value patterns,
with what a value failing each pattern should look like for people."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
CLIENT_NAME = r"^[a-z0-9][a-z0-9_-]*$"
PROPERTY_NAME = r"^[a-z][a-z0-9_]*$"
# what a value failing each pattern should look like, for people (never the regex itself)
PATTERN_TEXT = {
    EMAIL: ("is not an email address", "write it as name@domain, e.g. sales@example-agency.com"),
    CLIENT_NAME: ("is not a usable client name", "use lower-case letters a-z, digits, '-' and "
                  "'_', starting with a letter or digit, e.g. acme-hubspot"),
    PROPERTY_NAME: ("is not a CRM property name", "use lower-case letters a-z, digits and '_', "
                    "starting with a letter, e.g. connector_lead_score"),
}


class Strict(BaseModel):
    """A client-file section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
