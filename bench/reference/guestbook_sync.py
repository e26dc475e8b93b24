"""The database bake's guestbook page written the synchronous way (a sync view,
as the original demo writes its page), to measure the bake's async one against.

Copied beside a bake's app.py; everything but the view is the bake's own.
"""

import app
from app import PAGE, Entry, EntryForm
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import path


def index(request):
    form = EntryForm(request.POST or None)
    if form.is_valid():
        Entry.objects.create(**form.cleaned_data)
        return HttpResponseRedirect(request.path)
    entries = list(Entry.objects.all()[:20])
    context = {"name": request.GET.get("name", "World"), "form": form}
    return HttpResponse(PAGE.render({**context, "entries": entries}, request))


app.urlpatterns[0] = path("", index, name="index")
application = app.application
