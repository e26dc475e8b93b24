"""Background tasks: a bake with tasks, served by daphne beside real db_worker
processes, and a real SMTP server (aiosmtpd): every entry's mail reaches the
admins, once, through a queue filled while no worker runs, a worker killed
with -9 mid-send, two workers at once, and a mail server that was down."""

import signal
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager

import pytest

from helpers import (
    DAPHNE,
    PRODUCTION_ENV,
    Inbox,
    Visitor,
    as_postgres,
    clean_env,
    free_port,
    postgres_program,
    production_copy,
    run,
    serving,
    serving_postgres,
    smtp_server,
    stop,
)

ADMIN = "ada@example.com"


@pytest.fixture(scope="module")
def project(bake, tmp_path_factory):
    baked = bake({"debug": False, "websocket": "none", "database": True, "tasks": True})
    return production_copy(baked.project_path, tmp_path_factory.mktemp("t") / "site")


@pytest.fixture
def env(project, tmp_path):
    """Production's settings, a SQLite file of this test's own (migrated), and
    a mail server on a free port."""
    port = free_port()
    env = clean_env(
        **PRODUCTION_ENV,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        EMAIL_URL=f"smtp://127.0.0.1:{port}",
        DJANGO_ADMINS=ADMIN,
    )
    migrate = [sys.executable, "app.py", "migrate", "--verbosity", "0"]
    subprocess.run(migrate, cwd=project, env=env, check=True)
    return env | {"SMTP_PORT": str(port)}


@contextmanager
def worker(project, env, log):
    """`python app.py db_worker`, as the README runs it, until the block ends."""
    command = [sys.executable, "app.py", "db_worker", "--no-startup-delay"]
    with log.open("w") as out:
        process = subprocess.Popen(
            command + ["--interval", "0.2"],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop(process)


def wait_for(condition, timeout):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


def sign(server, count=1):
    visitor = Visitor(server)
    return [visitor.sign(f"Guest {n}", f"Message {n}")[0] for n in range(count)]


def test_an_entry_is_answered_at_once_and_its_mail_reaches_the_admins(
    project, env, tmp_path
):
    port = int(env["SMTP_PORT"])
    with (
        smtp_server(Inbox(), port) as inbox,
        serving(DAPHNE, project, tmp_path / "daphne.log", env=env) as server,
        worker(project, env, tmp_path / "worker.log"),
    ):
        started = time.monotonic()
        answers = sign(server)
        answered = time.monotonic() - started
        arrived = wait_for(lambda: inbox.mails, 15)

    assert answers == [302]
    assert answered < 1
    assert arrived
    [mail] = inbox.mails
    assert (mail["To"], mail["Subject"]) == (
        ADMIN,
        "[Django] Guestbook: Guest 0 signed",
    )
    assert mail.get_payload().strip() == "Message 0"


def test_mail_waits_for_a_worker(project, env, tmp_path):
    port = int(env["SMTP_PORT"])
    with (
        smtp_server(Inbox(), port) as inbox,
        serving(DAPHNE, project, tmp_path / "daphne.log", env=env) as server,
    ):
        sign(server, 3)
        time.sleep(1)
        before = len(inbox.mails)
        with worker(project, env, tmp_path / "worker.log"):
            wait_for(lambda: len(inbox.mails) == 3, 15)

    assert before == 0
    assert inbox.subjects() == [
        f"[Django] Guestbook: Guest {n} signed" for n in range(3)
    ]


def test_a_worker_killed_mid_send_loses_no_mail(project, env, tmp_path):
    port = int(env["SMTP_PORT"])
    with (
        smtp_server(Inbox(hang_first=10), port) as inbox,
        serving(DAPHNE, project, tmp_path / "daphne.log", env=env) as server,
    ):
        sign(server)
        with worker(project, env, tmp_path / "a.log") as first:
            assert inbox.hanging.wait(15)
            first.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        with worker(project, env, tmp_path / "b.log"):
            arrived = wait_for(lambda: inbox.mails, 70)
            waited = time.monotonic() - killed
            time.sleep(2)

    assert arrived
    assert waited < 60
    assert inbox.subjects() == ["[Django] Guestbook: Guest 0 signed"]


def test_a_worker_stopped_mid_send_finishes_the_mail_first(project, env, tmp_path):
    # systemd's stop (and restart) is a SIGTERM: the task in hand runs to its end.
    port = int(env["SMTP_PORT"])
    with (
        smtp_server(Inbox(hang_first=5), port) as inbox,
        serving(DAPHNE, project, tmp_path / "daphne.log", env=env) as server,
    ):
        sign(server)
        with worker(project, env, tmp_path / "worker.log") as running:
            assert inbox.hanging.wait(15)
            running.send_signal(signal.SIGTERM)
            status = running.wait(timeout=30)

    assert status == 0
    assert inbox.subjects() == ["[Django] Guestbook: Guest 0 signed"]


def with_a_new_database(env, data, url, port):
    """env, naming a new database of the test's own on the PostgreSQL at port."""
    name = f"tasks_{free_port()}"
    createdb = [postgres_program("createdb"), "-h", "127.0.0.1", "-p", str(port)]
    run(*as_postgres(createdb), name, cwd=data)
    return env | {"DATABASE_URL": f"{url.rsplit('/', 1)[0]}/{name}"}


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, project, env, tmp_path):
    """env's SQLite file, or a migrated database on a real PostgreSQL."""
    if request.param == "sqlite":
        yield env
        return
    data, url, port = request.getfixturevalue("postgres")
    with serving_postgres(data, tmp_path / "postgres.log", port=port):
        env = with_a_new_database(env, data, url, port)
        migrate = [sys.executable, "app.py", "migrate", "--verbosity", "0"]
        subprocess.run(migrate, cwd=project, env=env, check=True)
        yield env


def test_a_worker_stopped_by_a_postgresql_restart_is_restarted_and_loses_nothing(
    project, env, postgres, tmp_path
):
    # The worker exits (status 1) when the database is out of reach, for
    # systemd's Restart=on-failure to start it again (DEPLOY.md's unit).
    data, url, pg_port = postgres
    smtp_port, log = int(env["SMTP_PORT"]), tmp_path / "postgres.log"
    with ExitStack() as stack:
        inbox = stack.enter_context(smtp_server(Inbox(), smtp_port))
        database = stack.enter_context(ExitStack())  # PostgreSQL, until closed
        database.enter_context(serving_postgres(data, log, port=pg_port))
        env = with_a_new_database(env, data, url, pg_port)
        server = stack.enter_context(
            serving(DAPHNE, project, tmp_path / "daphne.log", env=env)
        )
        first = stack.enter_context(worker(project, env, tmp_path / "a.log"))
        sign(server)
        wait_for(lambda: inbox.mails, 15)
        database.close()
        stopped = first.wait(timeout=30)
        with serving_postgres(data, log, port=pg_port):
            signed = Visitor(server).sign("Guest 1", "Message 1")[0]
            with worker(project, env, tmp_path / "b.log"):  # systemd's restart
                wait_for(lambda: len(inbox.mails) == 2, 15)

    assert stopped == 1
    assert signed == 302
    assert inbox.subjects() == [
        "[Django] Guestbook: Guest 0 signed",
        "[Django] Guestbook: Guest 1 signed",
    ]


def test_two_workers_send_each_mail_once(project, database, tmp_path):
    env, port = database, int(database["SMTP_PORT"])
    with (
        smtp_server(Inbox(), port) as inbox,
        serving(DAPHNE, project, tmp_path / "daphne.log", env=env) as server,
    ):
        sign(server, 40)
        with (
            worker(project, env, tmp_path / "a.log"),
            worker(project, env, tmp_path / "b.log"),
        ):
            wait_for(lambda: len(inbox.mails) >= 40, 60)
            time.sleep(2)
    ran = [(tmp_path / f"{n}.log").read_text().count("state=SUCCESSFUL") for n in "ab"]

    assert inbox.subjects() == sorted(
        f"[Django] Guestbook: Guest {n} signed" for n in range(40)
    )
    assert sum(ran) == 40
    assert all(ran)  # both took their share


def test_a_mail_server_that_was_down_gets_the_mail(project, env, tmp_path):
    port = int(env["SMTP_PORT"])
    with (
        serving(DAPHNE, project, tmp_path / "daphne.log", env=env) as server,
        worker(project, env, tmp_path / "worker.log"),
    ):
        sign(server)
        failed = wait_for(
            lambda: "state=FAILED" in (tmp_path / "worker.log").read_text(), 15
        )
        with smtp_server(Inbox(), port) as inbox:
            arrived = wait_for(lambda: inbox.mails, 45)

    assert failed
    assert arrived
    assert inbox.subjects() == ["[Django] Guestbook: Guest 0 signed"]
