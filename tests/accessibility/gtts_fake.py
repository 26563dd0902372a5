"""A loopback stand-in for Google Translate's TTS endpoint, speaking its batchexecute format.

It decodes the ``f.req`` form field exactly as gTTS builds it, speaks the text with espeak-ng
into a real MP3, and answers the way translate.google.com does (``)]}'`` guard, length-prefixed
chunks, the audio base64-encoded inside a JSON string inside a JSON array). ``status`` makes it
answer an error instead (429 = rate limited).
"""
from __future__ import annotations

import base64
import json
import subprocess
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BATCHEXECUTE_PATH = "/_/TranslateWebserverUi/data/batchexecute"


def speak_mp3(text: str) -> bytes:
    wav = subprocess.run(["espeak-ng", "-v", "id", "--stdout", text], capture_output=True, check=True).stdout
    return subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", "pipe:0", "-ac", "1", "-c:a", "libmp3lame", "-f", "mp3", "pipe:1"],
        input=wav, capture_output=True, check=True,
    ).stdout


def batchexecute_response(mp3: bytes) -> bytes:
    inner = json.dumps([base64.b64encode(mp3).decode("ascii")], separators=(",", ":"))
    envelope = json.dumps([["wrb.fr", "jQ1olc", inner, None, None, None, "generic"], ["di", 57], ["af.httprm", 56, "-1", 9]], separators=(",", ":"))
    tail = json.dumps([["e", 4, None, None, len(envelope) + 120]], separators=(",", ":"))
    return f")]}}'\n\n{len(envelope)}\n{envelope}\n{len(tail)}\n{tail}\n".encode("utf-8")


class FakeGoogleTTS:
    def __init__(self) -> None:
        self.status = 200
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
                form = urllib.parse.parse_qs(body)
                rpc = json.loads(form["f.req"][0])
                text, lang, speed, _ = json.loads(rpc[0][0][1])
                fake.requests.append({"path": self.path, "rpc": rpc[0][0][0], "text": text, "lang": lang, "speed": speed})
                if self.path.split("?")[0] != BATCHEXECUTE_PATH:
                    self.send_error(404)
                    return
                if fake.status != 200:
                    self.send_response(fake.status)
                    self.send_header("Content-Type", "text/html")
                    self.end_headers()
                    self.wfile.write(b"<html>Too Many Requests</html>")
                    return
                payload = batchexecute_response(speak_mp3(text))
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeGoogleTTS":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
