"""Give the baked project a secret key of its own, kept in its .env file."""

import secrets
import string
from pathlib import Path

# Safe unquoted in a .env file, a shell and a systemd EnvironmentFile:
# no quotes, backslash, $, #, spaces or glob characters.
ALPHABET = string.ascii_letters + string.digits + "%+-.:=@^_~"


def make_secret_key(length=64):
    """Return a random key that Django's own deploy check accepts as strong."""
    while True:
        key = "".join(secrets.choice(ALPHABET) for _ in range(length))
        if len(set(key)) >= 5 and not key.startswith("django-insecure-"):
            return key


def add_secret_key(env_file):
    """Append DJANGO_SECRET_KEY to env_file, readable by its owner only."""
    env_file.chmod(0o600)
    with env_file.open("a") as f:
        f.write(f"DJANGO_SECRET_KEY={make_secret_key()}\n")


if __name__ == "__main__":
    add_secret_key(Path(".env"))
