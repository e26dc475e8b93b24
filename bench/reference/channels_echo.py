"""A bare Channels echo consumer: no routing, no origin or host checks."""

import django
from django.conf import settings

settings.configure()
django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402


class EchoConsumer(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=text_data, bytes_data=bytes_data)


application = EchoConsumer.as_asgi()
