"""Give the tests a settings environment of their own, whatever .env holds."""

import os
import secrets


def pytest_configure():
    # Real environment variables win over .env, so these fix what app.py reads,
    # also in a fresh clone where the git-ignored .env does not exist.
    os.environ["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "localhost"

    from django.test.utils import setup_test_environment

    import app  # noqa: F401  (configures Django)

    setup_test_environment()
