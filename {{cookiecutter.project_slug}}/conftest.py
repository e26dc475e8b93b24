"""Give the tests settings of their own, whatever .env or the environment holds."""

import os
import secrets

# Production settings, except plain http for Django's test client (a test asks
# for https with secure=True). Real environment variables win over .env, so
# these apply with or without .env; pin any variable you add to app.py here too.
TEST_ENVIRONMENT = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_DEBUG": "0",
    "DJANGO_ALLOWED_HOSTS": "localhost",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "DJANGO_SECURE_HSTS_PRELOAD": "1",
    "DJANGO_SECURE_COOKIES": "1",
{%- if cookiecutter.database %}
    "DATABASE_URL": "sqlite://:memory:",  # the tests' own, whatever .env names
{%- endif %}
{%- if cookiecutter.websocket == "channels" %}
    "REDIS_URL": "",  # chat rooms in memory
{%- endif %}
{%- if cookiecutter.tasks %}
    "DJANGO_ADMINS": "admin@example.com",  # told of each entry
    "EMAIL_URL": "smtp://localhost:25",  # Django's tests keep mail in mail.outbox
{%- endif %}
}


def pytest_configure():
    os.environ.update(TEST_ENVIRONMENT)

    import app  # noqa: F401  (configures Django; pytest-django does the rest)
