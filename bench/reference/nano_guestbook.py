"""The database bake's guestbook page as a nanodjango app (its model, form,
async view and template, 20 entries listed), served as nanodjango's docs say:
``nanodjango serve nano_guestbook.py`` (uvicorn, DEBUG off, SQLite)."""

import os

from django.db import models
from django.forms import ModelForm
from django.http import HttpResponseRedirect
from django.template import engines
from nanodjango import Django

app = Django(
    SECRET_KEY=os.environ["DJANGO_SECRET_KEY"],
    ALLOWED_HOSTS=os.environ["DJANGO_ALLOWED_HOSTS"].split(","),
    DEBUG=False,
)


@app.admin
class Entry(models.Model):
    name = models.CharField(max_length=60)
    message = models.CharField(max_length=500)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]


class EntryForm(ModelForm):
    class Meta:
        model = Entry
        fields = ["name", "message"]


@app.route("/")
async def index(request):
    form = EntryForm(request.POST or None)
    if form.is_valid():
        await Entry.objects.acreate(**form.cleaned_data)
        return HttpResponseRedirect(request.get_full_path())
    entries = [entry async for entry in Entry.objects.all()[:20]]
    context = {"name": request.GET.get("name", "World"), "form": form}
    return PAGE.render({**context, "entries": entries}, request)


PAGE = engines["django"].from_string(
    """<!doctype html>
<title>Hello</title>
<h1>Hello, {{ name }}!</h1>
<h2>Guestbook</h2>
<form method="post">{% csrf_token %}
{{ form.as_p }}
<button>Sign</button>
</form>
<ul id="entries">
{% for entry in entries %}
<li data-id="{{ entry.pk }}"><b>{{ entry.name }}</b>: {{ entry.message }}</li>
{% empty %}<li id="no-entries">No entries yet.</li>
{% endfor %}</ul>
"""
)
