"""A bare ASGI websocket echo: the most any websocket app can get."""


async def application(scope, receive, send):
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.receive":
            text, data = message.get("text"), message.get("bytes")
            await send({"type": "websocket.send", "text": text, "bytes": data})
        else:
            return
