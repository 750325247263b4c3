"""Look at the built site in a real browser: serve it locally and screenshot it with headless
Chromium (Debian's `chromium` package: `apt-get install -y chromium`).

    python docs/screenshots.py [--site docs/site] [--out docs/screenshots] [--mathjax DIR]

Builds the site first unless `--site` names a built one. Takes screenshots of the home page, a
guide, a rendered notebook with its figures, an API page and the search, and checks in the
rendered DOM (after the page's JavaScript ran) that

- the notebook page shows its stored figures (`<img>` elements with PNG data),
- the API page has the entries of its public names,
- the search, opened with `?q=NAME`, lists the reference entry of a function by its name.

It exits non-zero if a check fails. The site loads MathJax from a CDN; offline, pass `--mathjax`
with a folder holding MathJax 3's `es5/` build (`npm install mathjax@3`, then
`node_modules/mathjax`) and the local copy is served in its place.
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
CDN = "https://unpkg.com/mathjax@3/es5/"
PAGES = {  # screenshot name -> path in the site
    "home": "",
    "guide": "guides/fixed-points/",
    "notebook": "notebooks/03_fixed_points/",
    "api": "reference/fixedpoints/",
    "concepts": "concepts/",
}
SEARCH = ("flow_field", "reference/fixedpoints/#neurodyn.fixedpoints.flow_field")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    sys.exit("screenshots: no Chromium found (Debian: apt-get install -y chromium)")


def _handler(site: Path, mathjax: Path | None):
    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def do_GET(self):
            if mathjax is not None and self.path.startswith("/_mathjax/"):
                file = mathjax / "es5" / self.path[len("/_mathjax/"):].split("?")[0]
                return self._send(file.read_bytes(), "text/javascript") if file.is_file() else (
                    self.send_error(404))
            local = Path(self.translate_path(self.path))
            if mathjax is not None and (local.suffix == ".html" or local.is_dir()):
                index = local / "index.html" if local.is_dir() else local
                if index.is_file():
                    html = index.read_text(encoding="utf-8").replace(CDN, "/_mathjax/")
                    return self._send(html.encode(), "text/html; charset=utf-8")
            return super().do_GET()

        def _send(self, body: bytes, kind: str):
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return functools.partial(Handler, directory=str(site))


class Browser:
    """Headless Chromium driven through the DevTools protocol over a pipe (no extra package):
    commands go to its fd 3 and answers come from its fd 4, as NUL-terminated JSON."""

    def __init__(self, chromium: str, width: int = 1280, height: int = 1800):
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()

        def fds():  # in the child: fd 3 reads our commands, fd 4 writes the answers
            a, b = os.dup(to_browser), os.dup(from_browser)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self._profile = tempfile.mkdtemp(prefix="neurodyn-chromium-")
        self.proc = subprocess.Popen(
            [chromium, "--headless=new", "--remote-debugging-pipe", "--no-sandbox",
             "--disable-gpu", "--hide-scrollbars", "--disable-dev-shm-usage",
             f"--user-data-dir={self._profile}", "about:blank"],
            preexec_fn=fds, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_browser)
        os.close(from_browser)
        self._buffer, self._id = b"", 0
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        attached = self.call("Target.attachToTarget", targetId=target, flatten=True)
        self.session = attached["sessionId"]
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                  deviceScaleFactor=1, mobile=False)
        self.call("Page.enable", session=True)

    def call(self, method: str, session: bool = False, **params):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._read, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            answer = json.loads(raw)
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", session=True, expression=expression,
                           returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    def wait(self, expression: str, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.25)
        return None

    def open(self, url: str, settle: float = 1.5) -> None:
        self.call("Page.navigate", session=True, url=url)
        time.sleep(0.5)
        self.wait("document.readyState === 'complete'")
        time.sleep(settle)  # the page's own scripts after the load event

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", session=True, format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self._profile, ignore_errors=True)


FIGURES = ("Array.from(document.images).filter(i => i.src.startsWith('data:image/png')"
           " && i.naturalWidth > 0).length")
ENTRIES = "document.querySelectorAll('[id^=\"neurodyn.fixedpoints.\"]').length"
EQUATIONS = "document.querySelectorAll('mjx-container').length"
RESULTS = ("(() => { const a = Array.from(document.querySelectorAll('a.md-search-result__link'))"
           ".map(a => a.getAttribute('href')); return a.length ? a : null; })()")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, help="a built site (default: build one now)")
    parser.add_argument("--out", type=Path, default=DOCS / "screenshots")
    parser.add_argument("--mathjax", type=Path, help="a local MathJax 3 folder (with es5/)")
    args = parser.parse_args(argv)
    chromium = _chromium()
    site = args.site
    if site is None:
        site = Path(tempfile.mkdtemp(prefix="neurodyn-site-"))
        subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f",
                        str(DOCS / "mkdocs.yml"), "-d", str(site)], check=True)
    args.out.mkdir(parents=True, exist_ok=True)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(site, args.mathjax))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    browser = Browser(chromium)
    failures = []
    try:
        for name, path in PAGES.items():
            browser.open(base + path)
            if name == "concepts":  # MathJax typesets the equations after the load
                typeset = browser.wait(EQUATIONS, 20) or 0
                print(f"concepts: {typeset} equations typeset by MathJax")
            if name == "notebook":  # bring its first figure into view
                browser.evaluate("document.querySelector('img[src^=\"data:image/png\"]')"
                                 ".scrollIntoView({block: 'center'})")
                time.sleep(0.5)
            shot = args.out / f"{name}.png"
            browser.screenshot(shot)
            print(f"{name:9s} {base + path} -> {shot}")
            if name == "notebook":
                figures = browser.evaluate(FIGURES)
                print(f"notebook: {figures} figures rendered")
                if not figures:
                    failures.append("the notebook page shows no figure")
            if name == "api":
                entries = browser.evaluate(ENTRIES)
                print(f"api: {entries} entries of neurodyn.fixedpoints")
                if not entries:
                    failures.append("the API page has no entries")

        query, target = SEARCH
        browser.open(f"{base}?q={query}")
        hits = browser.wait(RESULTS, 90) or []
        print(f"search '{query}': {len(hits)} results; first: {hits[:3]}")
        if not any(target in re.sub(r"\?h=[^#]*", "", hit) for hit in hits):  # ?h= highlights
            failures.append(f"the search for {query!r} does not list {target}")
        browser.screenshot(args.out / "search.png")
    finally:
        browser.close()
        server.shutdown()
    for failure in failures:
        print("FAILED:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
