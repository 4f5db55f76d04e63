"""`connector explain --client NAME CONTACT_ID`: the stored explanation of a synced contact."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from connector.cli.common import console, pick, settings_and_clients, store_for
from connector.errors import ConfigError


def explain_from_state(client: str, contact_id: str, config_dir: Path | None) -> None:
    settings, clients = settings_and_clients(config_dir)
    pick(clients, client)
    store = store_for(settings)
    row = store.get_contacts(client, [contact_id]).get(contact_id)
    if row is None:
        raise ConfigError(f"contact {contact_id!r} has not been synced for client {client!r}",
                          field="CONTACT_ID", fix="run `connector sync --client "
                                                  f"{client}` or check the id")
    table = Table(title=f"{client} / contact {contact_id} ({row.email or 'no email'}): "
                        f"{row.total} points, {row.tier}" + (", WARM" if row.warm else ""))
    for column in ("rule", "points", "topic", "evidence"):
        table.add_column(column, justify="right" if column == "points" else "left")
    for hit in row.explanation or []:
        table.add_row(hit["description"], f"{hit['points']:+d}", hit.get("topic") or "",
                      ", ".join(hit.get("evidence") or []))
    console.print(table)
    if row.score != row.total:
        console.print(f"in the CRM: {row.score} (the write is pending)")
    if row.next_change_at:
        console.print(f"changes by time alone at {row.next_change_at.isoformat()}")
