"""``connector serve``: receive webhooks, rescore their contacts at once (README,
"Webhooks")."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from connector.cli.app import app
from connector.cli.common import (
    cli_errors,
    console,
    need_extra,
    settings_and_clients,
    store_for,
)

ConfigDir = typer.Option(None, "--config-dir", help="Folder of client YAML files "
                         "(default: CONNECTOR_CONFIG_DIR or config/clients).")


@app.command()
def serve(
    config_dir: Path | None = ConfigDir,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", help="Port to listen on."),
    public_url: str | None = typer.Option(
        None, "--public-url", help="The URL HubSpot calls, e.g. https://hooks.example.com "
        "(behind a proxy: HubSpot signs that URL, not the one this server sees)."),
    queue: str | None = typer.Option(
        None, "--queue", help="Redis URL: `connector worker`s run the targeted syncs; this "
        "process only checks, marks dirty and enqueues (default: CONNECTOR_QUEUE_URL, if set)."),
    log_format: str | None = typer.Option(None, "--log-format", help="text or json."),
) -> None:
    """Receive HubSpot and ActiveCampaign webhooks and rescore just the contacts they name;
    also /healthz and Prometheus /metrics. The scheduled `connector run` stays the safety
    net."""
    need_extra("serve")
    with cli_errors():
        settings, clients = settings_and_clients(config_dir, log_format)
        store = store_for(settings)
        from connector.web.app import WebhookService
        from connector.web.serve import serve as run_server

        enqueue = None
        where = "in this process"
        if url := queue or settings.queue_url:
            from connector.cli.queue_cmds import load_queue

            queue_app = load_queue()
            queue_app.ping(url, settings.queue_visibility_timeout, settings.queue_name)
            from connector.queue.producer import enqueue_targeted

            enqueue = enqueue_targeted
            where = f"queued on {escape(queue_app.safe_url(url))} for `connector worker`"
        service = WebhookService(settings, clients, store, public_url=public_url,
                                 enqueue=enqueue)
        hooks = [name for name, c in clients.items() if c.webhooks.secret_env]
        console.print(f"serving on http://{host}:{port} ({len(clients)} clients, webhooks "
                      f"for: {', '.join(hooks) or 'none (set webhooks.secret_env)'}); "
                      f"targeted syncs {where}", highlight=False, soft_wrap=True)
        run_server(service, host, port)
