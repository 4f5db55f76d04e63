"""The preview for a terminal: one summary line, the score-shift histogram, the tier-shift
table and the three lists (rich renderables, printed by `connector rules preview`)."""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import RenderableType
from rich.markup import escape
from rich.table import Table

from connector.preview.result import Change, Preview

BAR_WIDTH = 40


def renderables(p: Preview, top: int = 50) -> Iterator[RenderableType | str]:
    """Everything the command prints, in order (strings are single lines of prose)."""
    yield (f"[bold]{p.client}[/]: {p.contacts:,} stored contacts scored as of "
           f"{p.now:%Y-%m-%d %H:%M} UTC with the current model ({p.current.name}, "
           f"{p.current.source}) and the new one ({p.new.name}, {p.new.source}); "
           "no CRM call, nothing written")
    yield (f"score shift: {p.raised:,} raised, {p.lowered:,} lowered, {p.unchanged:,} "
           f"unchanged (mean {p.mean_shift:+.1f}); warm {p.warm_before:,} -> "
           f"{p.warm_after:,} (warm at {p.current.warm_at} -> {p.new.warm_at}); at the floor "
           f"{p.floor_before:,} -> {p.floor_after:,}")
    yield histogram_table(p)
    yield tier_table(p)
    yield from outcome_lines(p)
    yield (f"[bold]would turn warm: {p.counts['turn_warm']:,}[/] ({p.invite_count:,} invites "
           "in the salesperson's name)")
    if p.turn_warm:
        yield change_table(p.turn_warm, top, "would turn warm", p.counts["turn_warm"])
    yield (f"[bold]would hit the floor: {p.counts['hit_floor']:,}[/] "
           f"({p.unsubscribe_count:,} unsubscribed)")
    if p.hit_floor:
        yield change_table(p.hit_floor, top, "would hit the floor", p.counts["hit_floor"])
    yield f"[bold]would stop being warm: {p.counts['leave_warm']:,}[/]"
    if p.leave_warm:
        yield change_table(p.leave_warm, top, "would stop being warm", p.counts["leave_warm"])
    if p.by_time:
        yield ("* the current model does the same at this moment (time passed since the "
               "last sync): the next sync acts on it with either model")


KIND_NAMES = {"invite": "invites", "notify": "sales notes", "unsubscribe": "unsubscribes"}


def outcome_lines(p: Preview) -> Iterator[str]:
    """What the next sync holds and sends of the actions the new model plans, and why."""
    parts = []
    for kind, row in p.outcome().items():
        if not row["planned"]:
            continue
        parts.append(f"  {KIND_NAMES[kind]} {row['planned']:,}: {row['held_model_change']:,} "
                     f"held (model change), {row['held_guard']:,} held (run guard), "
                     f"{row['sent']:,} sent")
    if not parts:
        yield "[bold]the next sync with it:[/] no invite, sales note or unsubscribe"
        return
    yield "[bold]the next sync with it[/] (what it holds and what it sends):"
    yield from parts
    for reason in p.held_reasons:
        yield f"  held: {escape(reason)}"
    pending = ", ".join(f"{n:,} {KIND_NAMES[k]}" for k, n in sorted(p.pending.items()) if n)
    if pending:
        yield f"  already pending from an earlier run (the run guard counts them too): {pending}"
    if p.daily_cap and p.outcome()["invite"]["sent"]:
        yield (f"  invite.daily_cap_per_owner ({p.daily_cap}): invites above a salesperson's "
               "cap today wait as queued for the next day")
    if p.held_reasons:
        yield (f"  release them after that sync: `connector actions list --client {p.client} "
               f"--status held`, then `{p.release_command}` (or `discard`)")


def histogram_table(p: Preview) -> Table:
    table = Table(title="score shift (new - current)", title_justify="left")
    table.add_column("shift", justify="right")
    table.add_column("contacts", justify="right")
    table.add_column("", no_wrap=True)
    rows = p.histogram()
    top = max((n for _, n in rows), default=0) or 1
    for label, n in rows:
        bar = "█" * max(1 if n else 0, round(BAR_WIDTH * n / top))
        table.add_row(label, f"{n:,}", bar)
    return table


def tier_table(p: Preview) -> Table:
    table = Table(title="tier shift (rows: current model, columns: new model)",
                  title_justify="left")
    table.add_column("current \\ new")
    for name in p.new_tiers:
        table.add_column(name, justify="right")
    for old, counts in p.tier_rows():
        table.add_row(old, *[f"{n:,}" if n else "-" for n in counts])
    return table


def change_table(changes: list[Change], top: int, title: str,
                 total: int | None = None) -> Table:
    """The first ``top`` of ``changes`` (``total``: how many there are, kept or not)."""
    total = len(changes) if total is None else total
    table = Table(title=title, title_justify="left")
    for column in ("contact", "owner", "score", "rules that moved it", "actions"):
        table.add_column(column, justify="right" if column == "score" else "left")
    for c in changes[:top]:
        reasons = c.reasons()
        moved = "; ".join(reasons[:4]) or "-"
        if len(reasons) > 4:
            moved += f"; {len(reasons) - 4} more"
        table.add_row(f"{c.name} ({c.contact_id})", c.owner,
                      f"{c.before} -> {c.after}" + ("*" if c.by_time else ""), moved,
                      ", ".join(c.actions) + (f" (held: {c.held})" if c.held else "")
                      or "-")
    shown = min(top, len(changes))
    if total > shown:
        table.caption = f"and {total - shown:,} more (--top, --json or --html for all)"
    return table
