"""The account's reference lists, read once a run: custom fields by personalisation tag,
tag names, and per contact the deal owner and whether a deal was won."""

from __future__ import annotations

from typing import Any

from connector.crm.activecampaign.session import ACSession
from connector.crm.activecampaign.values import parse_time


class Lookups(ACSession):
    """``_field_map``, ``_tag_names`` and ``_deal_info``."""

    def _field_map(self) -> dict[str, str]:
        """Personalisation tag -> field id, every page of ``GET /fields`` (an agency's
        account holds more than one page of 100)."""
        if self._field_ids is None:
            self._field_ids = {f["perstag"]: str(f["id"])
                               for rows in self._offset_list("/fields", "fields")
                               for f in rows}
        return self._field_ids

    def _tag_names(self) -> dict[str, str]:
        """Tag id -> name, every page of ``GET /tags``."""
        if self._tags is None:
            self._tags = {str(t["id"]): t.get("tag", "")
                          for rows in self._offset_list("/tags", "tags") for t in rows}
        return self._tags

    def _deal_info(self) -> dict[str, dict[str, Any]]:
        """Per contact: the deal owner (the salesperson) and whether a deal was won."""
        if self._deals is None:
            self._deals = {}
            for deal in self._paged("/deals", "deals", {}):
                if not deal.get("contact"):  # a deal of no contact (the spec's example)
                    continue
                info = self._deals.setdefault(str(deal.get("contact")), {})
                if deal.get("owner"):
                    info.setdefault("owner", str(deal["owner"]))
                if str(deal.get("status")) == "1":
                    info["won"] = True
                    info["won_at"] = parse_time(deal.get("mdate"))
        return self._deals
