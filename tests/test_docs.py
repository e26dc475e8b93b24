"""What the baked README promises works as written."""

import asyncio
import re
import shutil
import subprocess
import sys

from websockets.asyncio.client import connect

from helpers import DAPHNE, ROOT, clean_env, serving

# What the README's example route answers to the message "hello".
SHOUT = {"asgi": ("/ws/shout/hello/", None), "channels": ("/ws/shout/", "hello")}


def with_readme_example(project, tmp_path):
    """A copy of the project whose routes are the README's "to add one" example."""
    copy = shutil.copytree(project, tmp_path / "project")
    readme = (copy / "README.md").read_text()
    example = re.search(r"```python\n(.*?)```", readme, re.DOTALL)[1]
    app = (copy / "app.py").read_text()
    start = app.index("websocket_urlpatterns = [")
    end = app.index("]\n", start) + 2
    (copy / "app.py").write_text(app[:start] + example + app[end:])
    return copy


def test_readme_example_route_works(baked_websocket, tmp_path):
    project = with_readme_example(baked_websocket.project_path, tmp_path)
    path, message = SHOUT[baked_websocket.context["websocket"]]

    async def talk(url):
        async with connect(
            "ws://" + url.removeprefix("http://") + path, origin=url
        ) as socket:
            if message:
                await socket.send(message)
            return await socket.recv()

    with serving(DAPHNE, project, tmp_path / "daphne.log") as server:
        answer = asyncio.run(talk(server.url))

    assert answer == "HELLO"


def test_readme_example_model_migrates_and_saves(bake, tmp_path):
    baked = bake({"debug": False, "websocket": "none", "database": True})
    project = shutil.copytree(baked.project_path, tmp_path / "project")
    readme = (project / "README.md").read_text()
    example = re.search(r"Add a model.*?```python\n(.*?)```", readme, re.S)[1]
    app = (project / "app.py").read_text()
    after = "admin.site.register(Entry)\n"
    (project / "app.py").write_text(app.replace(after, f"{after}\n\n{example}"))
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")

    outputs = [
        subprocess.run(
            [sys.executable, "app.py", *command],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for command in (
            ["makemigrations"],
            ["migrate"],
            [
                "shell",
                "--no-imports",
                "-c",
                "from app import Tag; print(Tag.objects.create(name='x').pk)",
            ],
        )
    ]

    assert "migrations/0002_tag.py" in outputs[0]
    assert "Applying app.0002_tag... OK" in outputs[1]
    assert outputs[2] == "1\n"


def test_template_readme_excerpt_is_the_baked_code(bake):
    readme = (ROOT / "README.md").read_text()
    excerpt = re.search(
        r"excerpt of the default bake.*?```python\n(.*?)```", readme, re.S
    )[1]

    app = (
        bake({"debug": True, "websocket": "none"}).project_path / "app.py"
    ).read_text()

    assert excerpt in app


def test_template_is_bsd_3_clause_and_its_bakes_carry_no_license(bake):
    license = (ROOT / "LICENSE").read_text()

    baked = bake({"debug": True, "websocket": "none"}).project_path

    assert license.startswith("BSD 3-Clause License\n")
    assert "3. Neither the name of the copyright holder nor" in license
    assert [p.name for p in baked.rglob("*LICEN[CS]E*")] == []
