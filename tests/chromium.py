"""A real browser for the report tests: headless Chromium driven over the DevTools protocol.

Only the standard library: a minimal WebSocket client (RFC 6455, text frames, client
masking) over `socket`, and a PNG decoder for the pixel check. One page is opened, every
console message, exception and network request it causes is recorded, then its DOM, text,
a screenshot and an A4 landscape PDF are taken.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlparse

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--remote-debugging-port=0"]
TIMEOUT = 60.0


def chromium() -> str | None:
    """The Chromium executable, if this machine has one."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return None


class WebSocket:
    """Just enough of a WebSocket client for the DevTools protocol on localhost."""

    def __init__(self, url: str):
        parts = urlparse(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                          .encode())
        response = b""
        while b"\r\n\r\n" not in response:
            response += self.sock.recv(1)
        if b" 101 " not in response.split(b"\r\n")[0]:
            raise ConnectionError(response.decode(errors="replace"))

    def _exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("the browser closed the connection")
            data += chunk
        return data

    def send(self, text: str) -> None:
        payload = text.encode()
        head = bytearray([0x81])
        if len(payload) < 126:
            head.append(0x80 | len(payload))
        elif len(payload) < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
        mask = os.urandom(4)
        self.sock.sendall(bytes(head) + mask
                          + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def receive(self) -> str:
        message = b""
        while True:
            first, second = self._exactly(2)
            size = second & 0x7F
            if size == 126:
                size = struct.unpack(">H", self._exactly(2))[0]
            elif size == 127:
                size = struct.unpack(">Q", self._exactly(8))[0]
            payload = self._exactly(size)
            opcode = first & 0x0F
            if opcode == 0x8:
                raise ConnectionError("the browser closed the connection")
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if first & 0x80:
                    return message.decode()


@dataclass
class Page:
    """What a page did and showed."""

    dom: str = ""
    text: str = ""
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    screenshot: bytes = b""
    thumbnail: bytes = b""
    pdf: bytes = b""


class DevTools:
    """One browser session (flattened): commands by id, events collected as they come."""

    def __init__(self, url: str):
        self.ws = WebSocket(url)
        self.next_id = 0
        self.events: list[dict] = []
        self.session: str | None = None

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.receive())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = json.loads(self.ws.receive())
            self.events.append(event)
            if event.get("method") == method:
                return event


def _listening(process: subprocess.Popen) -> str:
    """The browser's DevTools WebSocket URL, from the line it prints on stderr."""
    found: list[str] = []

    def read() -> None:
        for line in process.stderr:
            match = re.search(r"DevTools listening on (ws://\S+)", line)
            if match and not found:
                found.append(match.group(1))
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    for _ in range(int(TIMEOUT * 10)):
        if found or process.poll() is not None:
            break
        threading.Event().wait(0.1)
    if not found:
        raise RuntimeError("Chromium did not start its DevTools endpoint")
    return found[0]


def open_page(path: str, width: int = 1400, height: int = 1000) -> Page:
    """Open a local file in headless Chromium and record everything the tests check."""
    # the browser's helper processes may still write to the profile as it goes: a leftover
    # file there is no test failure
    with tempfile.TemporaryDirectory(prefix="nsm-chromium-",
                                     ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen([chromium(), *FLAGS, f"--user-data-dir={profile}",
                                    "about:blank"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True, errors="replace")
        closed = False
        try:
            tools = DevTools(_listening(process))
            page = _drive(tools, path, width, height)
            _close(tools)
            closed = True
            return page
        finally:
            _stop(process, closed)


def _close(tools: DevTools) -> None:
    """Ask the browser to quit (it then leaves its profile alone)."""
    tools.session = None
    with contextlib.suppress(OSError):   # it may close the connection while quitting
        tools.call("Browser.close")


def _stop(process: subprocess.Popen, closed: bool) -> None:
    try:
        process.wait(10 if closed else 0.1)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _drive(tools: DevTools, path: str, width: int, height: int) -> Page:
    target = tools.call("Target.createTarget", url="about:blank")["targetId"]
    tools.session = tools.call("Target.attachToTarget", targetId=target,
                               flatten=True)["sessionId"]
    for domain in ("Runtime", "Log", "Network", "Page"):
        tools.call(f"{domain}.enable")
    tools.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
               deviceScaleFactor=1, mobile=False)
    tools.call("Page.navigate", url="file://" + os.path.abspath(path))
    tools.wait_for("Page.loadEventFired")
    page = Page()
    page.dom = _evaluate(tools, "document.documentElement.outerHTML")
    page.text = _evaluate(tools, "document.body.innerText")
    full = tools.call("Page.getLayoutMetrics")["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": width, "height": max(full["height"], 1)}
    page.screenshot = base64.b64decode(tools.call(
        "Page.captureScreenshot", format="png", captureBeyondViewport=True,
        clip={**clip, "scale": 1})["data"])
    page.thumbnail = base64.b64decode(tools.call(
        "Page.captureScreenshot", format="png", captureBeyondViewport=True,
        clip={**clip, "scale": 0.2})["data"])
    page.pdf = base64.b64decode(tools.call(
        "Page.printToPDF", landscape=True, paperWidth=11.69, paperHeight=8.27,
        printBackground=True, preferCSSPageSize=True)["data"])
    _collect(tools.events, page)
    return page


def _evaluate(tools: DevTools, expression: str) -> str:
    return tools.call("Runtime.evaluate", expression=expression,
                      returnByValue=True)["result"]["value"]


def _collect(events: list[dict], page: Page) -> None:
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            page.requests.append(params["request"]["url"])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            page.errors.append(" ".join(str(a.get("value")) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            page.errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            page.errors.append(params["entry"].get("text", ""))


def png_pixels(data: bytes) -> tuple[int, int, list[int]]:
    """Width, height and the grey level of every pixel of an 8-bit, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    at, chunks, header = 8, [], b""
    while at < len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + size]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        at += 12 + size
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), f"unexpected PNG format {depth}/{colour}"
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    previous = bytearray(stride)
    grey: list[int] = []
    for row in range(height):
        kind = raw[row * (stride + 1)]
        line = bytearray(raw[row * (stride + 1) + 1:(row + 1) * (stride + 1)])
        _unfilter(kind, line, previous, channels)
        grey += [sum(line[i:i + 3]) // 3 for i in range(0, stride, channels)]
        previous = line
    return width, height, grey


def _unfilter(kind: int, line: bytearray, above: bytearray, step: int) -> None:
    for i in range(len(line)):
        left = line[i - step] if i >= step else 0
        up = above[i]
        corner = above[i - step] if i >= step else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            guess = left + up - corner
            pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
            best = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
            line[i] = (line[i] + best) & 0xFF
