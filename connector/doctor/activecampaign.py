"""The ActiveCampaign rows of ``connector doctor``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connector.crm.detected import Detected
from connector.doctor import Row

if TYPE_CHECKING:
    from connector.config import ClientConfig
    from connector.crm.activecampaign import ActiveCampaignCRM


def activecampaign_rows(crm: ActiveCampaignCRM,
                        client: ClientConfig) -> tuple[Detected, list[Row]]:
    detected = Detected(crm.kind, {}, crm.clock())
    return detected, []
