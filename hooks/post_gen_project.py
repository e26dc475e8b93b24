"""Give the baked project a secret key of its own, kept in its .env file."""

import json
import secrets
from pathlib import Path


def make_secret_key():
    """The recipe app.py and the README give too: 67 characters of letters,
    digits, "-" and "_", safe unquoted in .env, a shell and systemd."""
    return secrets.token_urlsafe(50)


def add_secret_key(env_file):
    """Append DJANGO_SECRET_KEY to env_file, readable by its owner only."""
    env_file.chmod(0o600)
    with env_file.open("a") as f:
        f.write(f"DJANGO_SECRET_KEY={make_secret_key()}\n")


if __name__ == "__main__":
    add_secret_key(Path(".env"))
    # Without a database, migrations/ got no files: no empty folder either.
    if not json.loads("{{ cookiecutter.database | tojson }}"):
        Path("migrations").rmdir()
