"""What one client's sync needs, already validated and built."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from connector.actions.context import ActionContext
from connector.clock import Clock
from connector.config import ClientConfig
from connector.crm.base import CRM, ScoreProperty
from connector.scoring import RulesModel
from connector.store.base import Store
from connector.sync.model_change import model_hash

BATCH_SIZE = 500
# the hold reason of the actions ``first_sync: hold`` holds (model-change holds are counted
# apart from them)
FIRST_SYNC_HOLD = "first sync: "
CONTACTS_STREAM = "contacts"
Progress = Callable[[str, int], None]


@dataclass
class SyncJob:
    """Everything one client's sync needs, already validated and built."""

    client: str
    config: ClientConfig  # the client's file: first_sync, on_model_change, guard, invite
    crm: CRM
    store: Store
    model: RulesModel
    score_property: ScoreProperty
    actions: ActionContext  # what planning and delivering the actions need
    clock: Clock
    lease_seconds: int = 60  # renewed every third of it while the run goes on
    batch_size: int = BATCH_SIZE
    stop: threading.Event = field(default_factory=threading.Event)
    # the model's identity (its YAML text and hash): kept in state with every score, so a
    # model change is noticed and the transitions it alone causes are held (issue 16)
    model_text: str | None = None
    model_source: str | None = None
    model_hash: str | None = field(init=False, default=None)
    # ``webhooks.enabled`` in the client file: the scheduled poll syncs the contacts the
    # webhooks marked dirty instead of pulling what changed since the bookmark (README,
    # "Webhooks", for the trade-off)
    trust_dirty: bool = False

    def __post_init__(self) -> None:
        if self.model_text is not None:
            self.model_hash = model_hash(self.model_text)

