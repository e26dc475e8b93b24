"""Give the baked project its .env with a secret key, then say what to type next."""

import json
import secrets
from pathlib import Path


def write_env(project):
    """project/.env: the settings of .env.example and a new secret key, readable
    by its owner only. (README.md tells a new clone to do the same by hand.)

    The key is secrets.token_urlsafe(50), the recipe app.py and the README give:
    67 characters of letters, digits, "-" and "_", safe unquoted in .env, a
    shell and systemd."""
    env_file = project / ".env"
    env_file.touch(mode=0o600)
    env_file.chmod(0o600)  # whatever the umask
    example = (project / ".env.example").read_text()
    env_file.write_text(f"{example}DJANGO_SECRET_KEY={secrets.token_urlsafe(50)}\n")


def next_step(folder, database, debug, tasks=False):
    """The line a bake ends with: the README's way to see the site, with uv."""
    commands = [f"cd {folder}"]
    if database:
        commands.append("uv run app.py migrate")
        if not debug:  # DEBUG off serves the admin's files only once collected
            commands.append("uv run app.py collectstatic --noinput")
    run = "uv run --isolated --with-requirements app.py daphne app:application"
    worker = "; beside it, in another terminal: uv run app.py db_worker" * tasks
    return "Next: " + " && ".join([*commands, run]) + worker


if __name__ == "__main__":
    project = Path.cwd()
    database = json.loads("{{ cookiecutter.database | tojson }}")
    debug = json.loads("{{ cookiecutter.debug | tojson }}")
    tasks = json.loads("{{ cookiecutter.tasks | tojson }}")
    write_env(project)
    if not database:  # migrations/ got no files: no empty folder either
        (project / "migrations").rmdir()
    print(next_step(project.name, database, debug, tasks))
