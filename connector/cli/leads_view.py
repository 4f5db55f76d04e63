"""The leads tables: who to call today, and the invites the daily cap holds back."""

from __future__ import annotations

from rich.table import Table


def invite_queue(store, client: str) -> list:
    """Invites waiting for their salesperson's daily capacity, in the order they go out."""
    from connector.actions.capacity import queue_order

    return queue_order([e for e in store.outbox(client, ["queued"]) if e.kind == "invite"])


def queue_table(client: str, entries: list) -> Table:
    """The invite queue (``invite.daily_cap_per_owner``): who is invited next, and when."""
    table = Table(title=f"{client}: invites queued by the daily cap per salesperson")
    for column in ("#", "contact", "email", "score", "salesperson", "waits until"):
        table.add_column(column, justify="right" if column in ("#", "score") else "left")
    for i, e in enumerate(entries, 1):
        p = e.payload or {}
        until = e.next_attempt_at.strftime("%Y-%m-%d %H:%M UTC") if e.next_attempt_at else "-"
        table.add_row(str(i), e.contact_id, p.get("email") or "-", str(p.get("score", "-")),
                      p.get("owner_name") or "-", until)
    return table


def lead_dict(row) -> dict:
    return {"contact_id": row.contact_id, "email": row.email, "score": row.total,
            "tier": row.tier, "warm": row.warm, "interests": row.interests}


def leaderboard(client: str, rows, title: str | None = None) -> Table:
    """The "who to call today" table."""
    table = Table(title=title or f"{client}: who to call today")
    for column in ("#", "contact", "email", "score", "tier", "interests"):
        table.add_column(column, justify="right" if column in ("#", "score") else "left")
    for i, row in enumerate(rows, 1):
        interests = ", ".join(f"{k} {v}" for k, v in sorted(
            (row.interests or {}).items(), key=lambda kv: -kv[1])[:3])
        style = "bold green" if row.warm else None
        table.add_row(str(i), row.contact_id, row.email or "-", str(row.total), row.tier,
                      interests or "-", style=style)
    return table
