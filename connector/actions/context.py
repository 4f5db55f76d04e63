"""What planning and delivering actions work with: the client, its CRM and the run.

Its own module because both planning (``base``) and the warm-up marker (``marker``) take
it, and ``base`` uses the marker.
"""

from __future__ import annotations

from dataclasses import dataclass

from connector.config import ClientConfig
from connector.crm.base import CRM


@dataclass
class ActionContext:
    client: ClientConfig
    crm: CRM
    smtp_password: str | None = None
    # the run delivering (None: outside a sync, e.g. `connector actions`): entries planned
    # in this run use the warm-up marker it pulled (``marker.pulled_marker``)
    run_id: str | None = None
