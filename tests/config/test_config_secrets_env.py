"""Tokens from `.env` (where the docs and the errors send users); pasted tokens never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.config import load_client
from connector.errors import ClientConfigError

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "config" / "rules" / "default.yaml"
TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"


def client_file(folder: Path, token_env: str, extra: str = "") -> Path:
    path = folder / "acme.yaml"
    path.write_text(f"""\
crm: {{kind: hubspot, token_env: {token_env}}}
rules: {RULES}
owner_fallback: {{name: Linnea Berg, email: linnea@example.com}}
{extra}""")
    return path


def test_token_and_smtp_password_are_read_from_dotenv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HUBSPOT_TOKEN_ACME", raising=False)
    monkeypatch.delenv("SMTP_PASSWORD_ACME", raising=False)
    (tmp_path / ".env").write_text(f"HUBSPOT_TOKEN_ACME={TOKEN}\n"
                                   "SMTP_PASSWORD_ACME='s3cret pass'\n")
    client = load_client(client_file(tmp_path, "HUBSPOT_TOKEN_ACME",
                                     "smtp: {password_env: SMTP_PASSWORD_ACME}\n"))
    assert client.token() == TOKEN
    assert client.smtp_password() == "s3cret pass"


def test_the_real_environment_wins_over_dotenv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("HUBSPOT_TOKEN_ACME=from-dotenv\n")
    monkeypatch.setenv("HUBSPOT_TOKEN_ACME", "from-environment")
    client = load_client(client_file(tmp_path, "HUBSPOT_TOKEN_ACME"))
    assert client.token() == "from-environment"


def test_missing_everywhere_names_the_variable_and_the_dotenv_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HUBSPOT_TOKEN_ACME", raising=False)
    client = load_client(client_file(tmp_path, "HUBSPOT_TOKEN_ACME"))
    with pytest.raises(ClientConfigError) as err:
        client.token()
    assert "HUBSPOT_TOKEN_ACME is not set" in str(err.value)
    assert str(tmp_path / ".env") in str(err.value)


@pytest.mark.parametrize("pasted", [
    TOKEN,                                             # HubSpot private app token
    "0f3a9c2b7d1e4f5a6b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a",  # AC
    "sk_live_51HxYzAbCdEf",                             # a key with a vendor prefix
    "abc123def456ghi789",                               # long, letters and digits mixed
])
@pytest.mark.parametrize("field", ["crm.token_env", "smtp.password_env"])
def test_a_token_pasted_as_the_variable_name_is_never_echoed(tmp_path, pasted, field):
    if field == "crm.token_env":
        path = client_file(tmp_path, pasted)
    else:
        path = client_file(tmp_path, "HUBSPOT_TOKEN_ACME", f"smtp: {{password_env: {pasted}}}\n")
    with pytest.raises(ClientConfigError) as err:
        load_client(path)
    message = str(err.value)
    assert pasted not in message
    assert pasted[:12] not in message
    assert f"the value of {field} looks like a token itself" in message
    assert ".env" in message and "name that variable here" in message


def test_a_plain_wrong_name_is_still_shown_to_help_fix_it(tmp_path):
    with pytest.raises(ClientConfigError, match="'my-token' is not an environment variable"):
        load_client(client_file(tmp_path, "my-token"))


@pytest.mark.parametrize("name", ["HUBSPOT_TOKEN_FOR_THE_ACME_CORPORATION_PRODUCTION",
                                  "HUBSPOT_TOKEN_ACME_2024"])
def test_long_variable_names_are_names_not_tokens(tmp_path, name):
    client = load_client(client_file(tmp_path, name))
    assert client.crm.token_env == name


def test_a_token_pasted_as_a_key_is_never_echoed(tmp_path):
    path = client_file(tmp_path, "HUBSPOT_TOKEN_ACME")
    path.write_text(path.read_text().replace("token_env: HUBSPOT_TOKEN_ACME",
                                             f"token_env: HUBSPOT_TOKEN_ACME, {TOKEN}: 1"))
    with pytest.raises(ClientConfigError) as err:
        load_client(path)
    assert TOKEN not in str(err.value) and "looks like a token" in str(err.value)


def test_an_empty_variable_is_reported_as_empty_not_as_missing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HUBSPOT_TOKEN_ACME", "")
    path = client_file(tmp_path, "HUBSPOT_TOKEN_ACME")
    client = load_client(path)
    with pytest.raises(ClientConfigError) as err:
        client.token()
    assert str(err.value).startswith(
        f"{path}: crm.token_env: environment variable HUBSPOT_TOKEN_ACME is set in the "
        "environment but empty (fix: give it the secret: export HUBSPOT_TOKEN_ACME=<secret>")
    assert "not set" not in str(err.value)


def test_an_empty_line_in_dotenv_is_reported_as_empty(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HUBSPOT_TOKEN_ACME", raising=False)
    (tmp_path / ".env").write_text("HUBSPOT_TOKEN_ACME=\n")
    client = load_client(client_file(tmp_path, "HUBSPOT_TOKEN_ACME"))
    with pytest.raises(ClientConfigError) as err:
        client.token()
    assert (f"environment variable HUBSPOT_TOKEN_ACME is set in {tmp_path / '.env'} but "
            "empty (fix: give it the secret:") in str(err.value)
