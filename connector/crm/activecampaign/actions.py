"""ActiveCampaign people and actions: deal owners (users), tasks, tags, automations and
list unsubscribes."""

from __future__ import annotations

from connector.crm.activecampaign.lookups import Lookups
from connector.errors import NotFoundError
from connector.models import Contact, Owner


class Actions(Lookups):
    """``get_owner``, ``create_task``, ``add_tag``, ``start_automation``, ``unsubscribe``."""

    def get_owner(self, contact: Contact) -> Owner | None:
        uid = contact.owner_id or self._deal_info().get(contact.id, {}).get("owner")
        if not uid:
            return None
        if uid not in self._users:
            try:
                user = self.http.get(f"/users/{uid}").get("user") or {}
            except NotFoundError:
                self._users[uid] = None
            else:
                name = " ".join(p for p in (user.get("firstName"), user.get("lastName")) if p)
                self._users[uid] = Owner(id=uid, name=name or user.get("email", ""),
                                         email=user.get("email", ""))
        return self._users[uid]

    def create_task(self, contact: Contact, owner: Owner | None, subject: str, body: str) -> str:
        task = {"title": subject, "note": body, "relid": int(contact.id), "ownerType": "contact",
                "duedate": self.clock.now().isoformat(), "dealTasktype": 1, "status": 0}
        if owner and owner.id.isdigit():
            task["assignee"] = int(owner.id)
        created = self.http.post("/dealTasks", {"dealTask": task})
        return str((created.get("dealTask") or {}).get("id"))

    def add_tag(self, contact: Contact, tag: str) -> None:
        names = {v: k for k, v in self._tag_names().items()}
        tid = names.get(tag)
        if tid is None:
            created = self.http.post("/tags", {"tag": {"tag": tag, "tagType": "contact"}})
            tid = str(created["tag"]["id"])
            self._tags = None
        self.http.post("/contactTags", {"contactTag": {"contact": contact.id, "tag": tid}})

    def start_automation(self, contact: Contact, automation_id: str) -> None:
        self.http.post("/contactAutomations", {"contactAutomation": {
            "contact": contact.id, "automation": automation_id}})

    def unsubscribe(self, contact: Contact, list_id: str | None = None) -> None:
        self.http.post("/contactLists", {"contactList": {
            "list": list_id or "1", "contact": contact.id, "status": 2}})
