"""Benchmark the web server: requests/s and p99 latency over HTTP (issue: web performance).

The real server runs as a subprocess — ``uvicorn server:app``, one worker, on 127.0.0.1 and a
free port, log level warning, a fresh database in a temporary directory and the repository's
reference catalogue — and is always stopped at the end (also on Ctrl-C or an error). Every
figure is one run of ``--duration`` seconds (default 10, at most 15; ``--quick``: 3):

* the item guide page ``/items/{code}`` and a blank form page ``/apply/{code}/{section}``,
  with wrk (Debian's ``wrk``; one thread, 16 keep-alive connections, ``--latency``). The item
  is the one whose form has the most fields (QQ-HOUSING-XK-003, 38 fields: the first page of
  every item is the same 9-field applicant section, so "the first form page with the most
  fields" cannot choose); its page with the most fields is the form page. A browser without
  a cookie is simulated, as on a first visit (the response sets the browser cookie).
* the multipart upload alone, ``POST /api/uploads`` with a small valid PDF (a few hundred
  bytes), with wrk and a Lua script: the "multipart with a small file" request by itself. Every
  upload goes into a draft (``X-Draft-Token``) and one draft takes at most 30 files a minute,
  so drafts enough for the whole run are opened first and the script's ``request()`` hands
  them out in turn (:func:`upload_script`).
* a complete valid submission, which over HTTP is three requests that depend on each other:
  ``POST /api/drafts``, the upload into that draft (``X-Draft-Token``), then ``POST /api/cases``
  with the application data, the draft and the upload id that the second answer returned,
  under a unique idempotency key — the flow an API client follows. wrk cannot chain requests on one
  connection (its Lua ``request``/``response`` hooks are per thread, not per connection), so
  a bounded client in this file does it: ``--submit-connections`` (8, half of wrk's 16) asyncio keep-alive
  connections speaking raw HTTP/1.1 (no client library, so the client costs little of the
  shared CPUs), each opening a draft, uploading and submitting in a loop until the time is up; it counts
  completed submissions per second and the p99 of the whole chain, and stops on any answer
  that is not 201. The target row is the item with the most fields whose valid application
  carries exactly one file (QQ-REALESTATE-DJ-102, 29 fields); the form item's own submission
  (five files, seven requests) is shown for information. Data: ``engine.service.samples``.

All the load comes from one address, 127.0.0.1, standing in for many applicants: the server is
started with its per-address upload and filing limits (engine.service.uploads.limits_from_env) set far
above what the run can reach; the per-draft limits stay as they are.

The reference, measured in the same run: a plain Jinja2 render of the same two pages — a new
``jinja2.Environment`` over the app's own templates, configured as the app's (autoescape, the
i18n extension and the same globals), rendering the same template with the same context as
engine/web/app.py and engine/web/portal/apply.py pass, built here from ``engine.rules.notice.build`` and
``engine.web.portal.form_view``. The context is built once; only ``template.render`` is timed (median
rate of ~0.25 s batches over ``--render-seconds``). The rendered HTML is compared with what the
server sent (the per-browser CSRF token aside), so a drift in this file shows as "differs".
Context building plus render is shown for information.

Nothing here asserts a time: targets are printed as PASS/MISS and the exit status is 0 either
way; it is 1 only when the figures mean nothing (the server did not start, or answered a
request with an error). Without wrk its rows are skipped with the command that installs it.
The load tool and the server share the machine's CPUs: on 2 cores, wrk takes most of one.

    .venv/bin/python bench/bench_web.py [--duration S] [--quick] [--profile] [--dir DIR]

``--profile`` runs no server: it drives the app in-process through ASGI under cProfile
and prints where one guide and one form request, and one valid submission (draft, upload,
case), spend their time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import http.client
import io
import json
import math
import os
import platform
import pstats
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # import the engine from this checkout, however the venv was installed

from jinja2 import Environment, FileSystemLoader, Template, select_autoescape  # noqa: E402
from markupsafe import Markup  # noqa: E402

from engine.catalogue.fields import item_fields  # noqa: E402
from engine.catalogue.model import Catalogue, Document  # noqa: E402
from engine.check.pipeline import load  # noqa: E402
from engine.rules import forms, notice  # noqa: E402
from engine.service.samples import sample_application  # noqa: E402
from engine.service.upload_limits import DRAFT_FILES_PER_MINUTE, limits_from_env  # noqa: E402
from engine.web import app as web  # noqa: E402
from engine.web import csrf, render  # noqa: E402
from engine.web.flowchart import flowchart_svg  # noqa: E402
from engine.web.portal import form_view  # noqa: E402
from engine.web.portal.form_view import CHECK_PAGE, MATERIALS_PAGE  # noqa: E402

HOST = "127.0.0.1"
DEFAULT_DURATION, MAX_DURATION, QUICK_DURATION = 10.0, 15.0, 3.0
WRK_THREADS, WRK_CONNECTIONS = 1, 16
SUBMIT_CONNECTIONS = 8  # concurrent applicants; the page figures use 16 wrk connections
TARGET_RPS = 1000.0  # guide and form pages, requests/s
TARGET_VS_PLAIN = 2.0  # ... and at least this many times a plain Jinja2 render of the same page
TARGET_SUBMISSIONS = 200.0  # valid submissions/s
START_TIMEOUT = 60.0
# The bench is one address standing in for many applicants (as a center behind one NAT address
# is), so the server's per-address limits are set out of reach; per draft they are the real ones.
ONE_ADDRESS_FOR_MANY = {
    "YANGGUANG_UPLOAD_FILES_PER_MINUTE_PER_ADDRESS": "10000000",
    "YANGGUANG_UPLOAD_MB_PER_DAY_PER_ADDRESS": "10000000",
    "YANGGUANG_DRAFTS_PER_HOUR_PER_ADDRESS": "10000000",
    # the filing limits (engine.service.filing_limits: 10 an hour, 30 a day) would stop the submission bench
    # at its 11th case; raised so it measures throughput, not the limit
    "YANGGUANG_FILINGS_PER_HOUR_PER_ADDRESS": "10000000",
    "YANGGUANG_FILINGS_PER_DAY_PER_ADDRESS": "10000000",
}
WRK_MAX_UPLOADS_PER_S = 3000  # drafts are opened for this rate (4x the measured one); faster runs out of them
WRK_INSTALL = "apt-get install -y wrk   (Debian/Ubuntu; as root)"
CSRF_INPUT = re.compile(r'(name="csrf" value=")[0-9a-f]+(")')


class Broken(Exception):
    """The figures mean nothing: the server did not start, or answered with an error."""


# ---------------------------------------------------------------------------------------
# What is measured: the pages, the submission, a small PDF
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choice:
    item: str  # guide page and form page
    page: str  # the form page's section id
    page_fields: int
    item_fields: int
    submit_item: str  # the target submission: one file
    submit_fields: int


def choose(cat: Catalogue, item: str | None, page: str | None, submit_item: str | None) -> Choice:
    """The item with the most form fields, its largest page, and the largest one-file item."""

    def field_count(doc: Document) -> int:
        return len(item_fields(doc, cat.forms))

    def pdf_uploads(doc: Document) -> list[str] | None:
        """The material ids of a valid sample application, or None when one of them refuses PDF."""
        _, ups = sample_application(cat, doc)
        specs = {m["id"]: m for m in cat.data(doc).get("materials", [])}
        if any(specs[m].get("formats") and "pdf" not in specs[m]["formats"] for m in ups):
            return None
        return list(ups)

    codes = sorted(cat.items)
    code = item or max(codes, key=lambda c: (field_count(cat.items[c]), c))
    if code not in cat.items:
        raise Broken(f"no item {code!r} in the reference catalogue")
    doc = cat.items[code]
    sizes = {
        p.id: len(form_view.widgets(cat, doc, p.id, {}, {}))
        for p in form_view.pages(cat, doc, {})
        if p.id not in (MATERIALS_PAGE, CHECK_PAGE)
    }
    section = page or max(sizes, key=lambda s: sizes[s])  # the first of the largest
    if section not in sizes:
        raise Broken(f"item {code} has no form page {section!r} (it has {', '.join(sizes)})")
    one_file = [c for c in codes if (ups := pdf_uploads(cat.items[c])) is not None and len(ups) == 1]
    sub = submit_item or max(one_file, key=lambda c: (field_count(cat.items[c]), c))
    if sub not in cat.items or pdf_uploads(cat.items[sub]) is None:
        raise Broken(f"no item {sub!r} whose valid application can be made with PDF files")
    return Choice(code, section, sizes[section], field_count(doc), sub, field_count(cat.items[sub]))


def small_pdf() -> bytes:
    """A valid one-page PDF 1.4 with a correct cross-reference table (a few hundred bytes)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>",
        b"<< /Length 35 >>\nstream\nBT /F1 12 Tf 72 770 Td (bench) Tj ET\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


BOUNDARY = "yangguangbench7f3a9c"


def multipart(pdf: bytes, material: str = "") -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="bench.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n".encode()
        + pdf
        + b"\r\n"
    ]
    if material:
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="material"\r\n\r\n{material}\r\n'.encode())
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


# ---------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(workdir: Path) -> Iterator[int]:
    """``uvicorn server:app`` on a free port with a fresh database; yields the port; always stopped."""
    port = free_port()
    env = {
        **os.environ,
        "YANGGUANG_CATALOG": str(REPO),
        "YANGGUANG_DB": str(workdir / "bench.db"),
        **ONE_ADDRESS_FOR_MANY,
    }
    cmd = [
        sys.executable, "-m", "uvicorn", "server:app", "--app-dir", str(REPO), "--host", HOST,
        "--port", str(port), "--workers", "1", "--log-level", "warning",
    ]  # fmt: skip
    log = (workdir / "server.log").open("wb")
    # its own session: a Ctrl-C in the terminal reaches only us, and we stop it in order
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise Broken(f"the server exited with {proc.returncode}:\n{tail(workdir / 'server.log')}")
            with contextlib.suppress(OSError):
                if get(port, "/healthz")[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise Broken(f"no answer on /healthz after {START_TIMEOUT:.0f} s:\n{tail(workdir / 'server.log')}")
            time.sleep(0.1)
        yield port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown (runs the lifespan's exit)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def tail(path: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------
# wrk
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Figure:
    label: str
    tool: str
    connections: int
    seconds: float
    rate: float | None  # per second; None when skipped
    p50_ms: float | None = None
    p99_ms: float | None = None
    count: int = 0
    note: str = ""


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if m is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m[1]) * _UNITS[m[2]]


def wrk_version() -> str:
    out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else "wrk"
    return first.split(" Copyright")[0].strip()


def run_wrk(label: str, url: str, seconds: float, script: Path | None = None) -> Figure:
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds:g}s", "--timeout", "5s", "--latency"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=False)
    text = out.stdout + out.stderr
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"^\s*50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s*99%\s+(\S+)", text, re.M)
    total = re.search(r"(\d+) requests in", text)
    if out.returncode != 0 or not (rate and p50 and p99 and total):
        raise Broken(f"wrk failed on {url}:\n{text}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors:.*", text)
    if bad:
        raise Broken(f"{label}: {bad[1]} answers were not 2xx/3xx — the figure would mean nothing:\n{text}")
    return Figure(
        label, "wrk", WRK_CONNECTIONS, seconds, float(rate[1]), _ms(p50[1]), _ms(p99[1]), int(total[1]),
        errors[0].strip() if errors else "",
    )  # fmt: skip


def lua_string(data: bytes) -> str:
    """``data`` as a Lua string literal (decimal escapes for everything that is not plain ASCII)."""
    keep = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 /<>[]()=:;.,-_%+")
    return '"' + "".join(chr(b) if b in keep else f"\\{b:03d}" for b in data) + '"'


def drafts_for_wrk(seconds: float) -> int:
    """Drafts for a wrk upload run: one draft takes 30 files a minute (the run is under one), so
    the script hands each draft at most that many at up to ``WRK_MAX_UPLOADS_PER_S``."""
    return math.ceil(seconds * WRK_MAX_UPLOADS_PER_S / DRAFT_FILES_PER_MINUTE)


def upload_script(workdir: Path, body: bytes, tokens: list[str]) -> Path:
    """wrk's ``request()`` runs for every request: each names the next draft in turn, so no draft
    gets more than its share (one thread, ``WRK_THREADS``: the counter is per thread)."""
    path = workdir / "upload.lua"
    path.write_text(
        f"local body = {lua_string(body)}\n"
        "local tokens = {" + ",".join(lua_string(t.encode()) for t in tokens) + "}\n"
        "local n = 0\n"
        "request = function()\n"
        "  n = n + 1\n"
        "  local headers = {\n"
        f'    ["Content-Type"] = "multipart/form-data; boundary={BOUNDARY}",\n'
        '    ["X-Draft-Token"] = tokens[(n - 1) % #tokens + 1],\n'
        "  }\n"
        '  return wrk.format("POST", "/api/uploads", headers, body)\n'
        "end\n"
    )
    return path


async def open_drafts(port: int, n: int, connections: int = SUBMIT_CONNECTIONS) -> list[str]:
    """``n`` API drafts (``POST /api/drafts``) over ``connections`` keep-alive connections."""
    tokens: list[str] = []

    async def worker(count: int) -> None:
        conn = Conn(port)
        try:
            for _ in range(count):
                tokens.append(await conn.new_draft())
        finally:
            await conn.close()

    await asyncio.gather(*(worker(n // connections + (w < n % connections)) for w in range(connections)))
    return tokens


# ---------------------------------------------------------------------------------------
# The submission client: raw HTTP/1.1 over asyncio, keep-alive
# ---------------------------------------------------------------------------------------


class RawConn:
    """One keep-alive HTTP/1.1 connection over asyncio, raw so the client costs little of the shared CPUs;
    subclasses write the requests (bench_load.py's clients too)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, head: str, body: bytes) -> None:
        """Write a request's head (its lines, without the blank line) and body, connecting first if need be."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        self.writer.write((head + "\r\n\r\n").encode("latin-1") + body)

    async def answer(self, method: str, path: str) -> tuple[int, bytes]:
        """The status and body of the answer to the request just sent; ConnectionError (and the connection
        closed) when the server closed it instead."""
        assert self.reader is not None
        status_line = await self.reader.readline()
        if not status_line:
            await self.close()
            raise ConnectionError(f"the server closed the connection on {method} {path}")
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            key = name.strip().lower()
            if key == "content-length":
                length = int(value)
            elif key == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif key == "connection" and "close" in value.lower():
                close = True
        if chunked:
            data = bytearray()
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                data += await self.reader.readexactly(size + 2)
                del data[-2:]
            await self.reader.readline()
            payload = bytes(data)
        else:
            payload = await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


class Conn(RawConn):
    async def request(
        self, method: str, path: str, content_type: str, body: bytes, headers: str = ""
    ) -> tuple[int, bytes]:
        """``headers``: more header lines, each ending in CRLF."""
        await self.send(
            f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nContent-Type: {content_type}\r\n"
            f"{headers}Content-Length: {len(body)}",
            body,
        )
        try:
            return await self.answer(method, path)
        except ConnectionError as exc:  # the figure would mean nothing
            raise Broken(str(exc)) from exc

    async def new_draft(self) -> str:
        """A new API draft's token (``POST /api/drafts``)."""
        status, reply = await self.request("POST", "/api/drafts", "application/json", b"")
        if status != 201:
            raise Broken(f"POST /api/drafts answered {status}: {reply[:300]!r}")
        return str(json.loads(reply)["draft"])


@dataclass(slots=True)
class Submissions:
    done: int = 0
    chain_ms: list[float] = field(default_factory=list)
    draft_ms: list[float] = field(default_factory=list)
    upload_ms: list[float] = field(default_factory=list)
    case_ms: list[float] = field(default_factory=list)


async def submit_loop(
    port: int, item: str, data: Mapping[str, Any], materials: list[str], body: bytes, seconds: float,
    connections: int, tag: str,
) -> tuple[Submissions, float]:  # fmt: skip
    """Complete submissions (a draft, every upload into it, then the case with the draft) on
    ``connections`` connections until ``seconds``."""
    out = Submissions()
    deadline = time.perf_counter() + seconds
    mp = f"multipart/form-data; boundary={BOUNDARY}"

    async def worker(w: int) -> None:
        conn, i = Conn(port), 0
        try:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                draft = await conn.new_draft()
                out.draft_ms.append((time.perf_counter() - t0) * 1000)
                ups: dict[str, list[str]] = {}
                for m in materials:
                    u0 = time.perf_counter()
                    status, reply = await conn.request("POST", "/api/uploads", mp, body, f"X-Draft-Token: {draft}\r\n")
                    out.upload_ms.append((time.perf_counter() - u0) * 1000)
                    if status != 201:
                        raise Broken(f"upload answered {status}: {reply[:300]!r}")
                    ups[m] = [json.loads(reply)["upload_id"]]
                case = {"item": item, "data": data, "uploads": ups, "draft": draft, "idempotency_key": f"{tag}-{w}-{i}"}
                c0 = time.perf_counter()
                status, reply = await conn.request(
                    "POST", "/api/cases", "application/json", json.dumps(case, ensure_ascii=False).encode()
                )
                now = time.perf_counter()
                out.case_ms.append((now - c0) * 1000)
                if status != 201:
                    raise Broken(f"submission of {item} answered {status}: {reply[:300]!r}")
                out.chain_ms.append((now - t0) * 1000)
                out.done += 1
                i += 1
        finally:
            await conn.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(connections)))
    return out, time.perf_counter() - start


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure_submissions(
    label: str, port: int, cat: Catalogue, code: str, pdf: bytes, seconds: float, connections: int, tag: str
) -> Figure:
    data, ups = sample_application(cat, cat.items[code])
    data = json.loads(json.dumps(data, ensure_ascii=False, default=str))
    body = multipart(pdf)
    materials = list(ups)
    asyncio.run(submit_loop(port, code, data, materials, body, 0.0, 1, f"{tag}-warm"))  # one, untimed; checks 201
    got, elapsed = asyncio.run(submit_loop(port, code, data, materials, body, seconds, connections, tag))
    if not got.done:
        raise Broken(f"{label}: no submission completed")
    note = (
        f"draft + {len(materials)} upload(s) + case; p50 draft {statistics.median(got.draft_ms):.1f} ms, "
        f"upload {statistics.median(got.upload_ms):.1f} ms, case {statistics.median(got.case_ms):.1f} ms"
    )
    return Figure(
        label, "asyncio client", connections, elapsed, got.done / elapsed,
        statistics.median(got.chain_ms), p(got.chain_ms, 0.99), got.done, note,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------
# The reference: a plain Jinja2 render of the same pages
# ---------------------------------------------------------------------------------------


def plain_environment() -> Environment:
    """A new Environment over the app's templates, set up as engine/web/render.py sets up its own."""
    env = Environment(
        loader=FileSystemLoader(str(REPO / "engine" / "web" / "templates")),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    app_env: Environment = render.env
    env.globals.update(app_env.globals)  # gettext callables, current_language, languages …
    env.filters.update(app_env.filters)  # |local, |local_day, |units: the templates use them
    env.newstyle_gettext = getattr(app_env, "newstyle_gettext", False)  # type: ignore[attr-defined]
    return env


def app_defaults(cat: Catalogue) -> dict[str, Any]:
    """What engine/web/app.py's ``render`` adds to every context."""
    ctx: dict[str, Any] = {"center": cat.center or {}, "actor": None}
    with contextlib.suppress(ImportError):
        from engine.base import wording

        ctx["wording"] = wording
    return ctx


@dataclass(slots=True)
class Page:
    label: str
    path: str
    template: Template
    build: Callable[[], dict[str, Any]]  # the context, as the request handler builds it

    def render(self, ctx: Mapping[str, Any]) -> str:
        return self.template.render(**ctx)


def pages_of(cat: Catalogue, env: Environment, choice: Choice) -> tuple[Page, Page]:
    doc = cat.items[choice.item]
    chart = Markup(flowchart_svg(doc.data))  # the server draws it once per item and catalogue version
    defaults = app_defaults(cat)
    browser = "0" * 32

    def guide() -> dict[str, Any]:
        return {**defaults, "n": notice.build(cat, doc), "item": doc.data, "flowchart": chart}

    def form() -> dict[str, Any]:
        all_pages = form_view.pages(cat, doc, {})
        index = [pg.id for pg in all_pages].index(choice.page)
        return {
            **defaults,
            "csrf": csrf.token(bytes(32), csrf.APPLY, browser),  # the server's key differs: compared aside
            "item": cat.data(doc),
            "base": f"/apply/{choice.item}",  # the portal's urls(): where the pages live, and the guide
            "guide": f"/items/{choice.item}",
            "pages": all_pages,
            "page": all_pages[index],
            "index": index,
            "draft": None,
            "fields": form_view.widgets(cat, doc, choice.page, {}, {}),
            "summary_links": [],
            "return_to": "",
            "known": form_view.flat_values(forms.normalise(cat, doc, {})),
        }

    return (
        Page("item guide page", f"/items/{choice.item}", env.get_template("item.html"), guide),
        Page("blank form page", f"/apply/{choice.item}/{choice.page}", env.get_template("portal/page.html"), form),
    )


def rate(fn: Callable[[], object], seconds: float, batch: float = 0.25) -> tuple[float, float, float]:
    """(median, min, max) calls per second over batches of about ``batch`` seconds."""
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 0.05:  # calibrate (and warm up)
        fn()
        n += 1
    per_batch = max(1, int(n * batch / (time.perf_counter() - t0)))
    rates: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(rates) < 3:
        start = time.perf_counter()
        for _ in range(per_batch):
            fn()
        rates.append(per_batch / (time.perf_counter() - start))
    return statistics.median(rates), min(rates), max(rates)


def same_page(served: bytes, plain: str) -> str:
    a = CSRF_INPUT.sub(r"\1…\2", served.decode("utf-8", "replace"))
    b = CSRF_INPUT.sub(r"\1…\2", plain)
    if a == b:
        return f"same HTML as served ({len(served):,} B)"
    at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"DIFFERS from served HTML at char {at} ({len(a):,} vs {len(b):,} chars): update this file"


# ---------------------------------------------------------------------------------------
# Profile: one guide and one form request in-process (no HTTP), under cProfile
# ---------------------------------------------------------------------------------------


async def asgi_get(app: Any, path: str) -> tuple[int, bytes]:
    return await asgi_request(app, "GET", path)


async def asgi_request(
    app: Any, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None
) -> tuple[int, bytes]:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if body:
        raw.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": raw,
        "client": (HOST, 1234), "server": (HOST, 80),
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


PARTS = (  # (what, file suffix, function): cumulative times, so they nest (normalise runs inside pages)
    ("Jinja2 Template.render", "jinja2/environment.py", "render"),
    ("notice.build", "engine/rules/notice.py", "build"),
    ("flowchart_svg", "engine/web/flowchart.py", "flowchart_svg"),
    ("form_view.pages", "engine/web/portal/form_view.py", "pages"),
    ("form_view.widgets", "engine/web/portal/form_view.py", "widgets"),
    ("forms.normalise", "engine/rules/forms.py", "normalise"),
)
THREADED = (
    "engine.web.home",
    "engine.web.portal.apply",
    "engine.web.api.cases",
    "engine.web.portal.progress",
    "engine.web.desk.cases",
)


@contextlib.contextmanager
def inline_threadpool() -> Iterator[None]:
    """Run what the handlers send to worker threads in the event loop's thread (cProfile sees one thread)."""

    async def inline(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    saved = {name: sys.modules[name].run_in_threadpool for name in THREADED if name in sys.modules}
    try:
        for name in saved:
            sys.modules[name].run_in_threadpool = inline  # type: ignore[attr-defined]
        yield
    finally:
        for name, fn in saved.items():
            sys.modules[name].run_in_threadpool = fn  # type: ignore[attr-defined]


def profile(cat: Catalogue, choice: Choice, workdir: Path, n: int) -> None:
    limits = limits_from_env(ONE_ADDRESS_FOR_MANY)
    app = web.create_app(REPO, workdir / "profile.db", cat, sweep_seconds=0, upload_limits=limits)
    print(f"in-process ASGI (no HTTP server, no sockets), {n} requests each, item {choice.item}")
    for path in (f"/items/{choice.item}", f"/apply/{choice.item}/{choice.page}"):

        async def many(path: str = path) -> None:
            for _ in range(n):
                status, _ = await asgi_get(app, path)
                if status != 200:
                    raise Broken(f"{path} answered {status}")

        def wall() -> float:
            t0 = time.perf_counter()
            asyncio.run(many())
            return (time.perf_counter() - t0) * 1000 / n

        asyncio.run(asgi_get(app, path))  # warm: templates compiled, flowchart drawn
        threaded = min(wall() for _ in range(3))
        with inline_threadpool():
            inlined = min(wall() for _ in range(3))
            prof = cProfile.Profile()
            prof.enable()
            prof_ms = wall()
            prof.disable()
        table: dict[tuple[str, int, str], Any] = pstats.Stats(prof).stats  # type: ignore[attr-defined]
        print(
            f"\n--- GET {path}: {threaded:.3f} ms/request in-process; {inlined:.3f} ms with the worker-thread "
            f"hops run inline (thread hops: {threaded - inlined:+.3f} ms, ±noise); {prof_ms:.3f} ms under cProfile ---"
        )
        for what, suffix, name in PARTS:
            cum = sum(v[3] for (file, _, fn), v in table.items() if file.endswith(suffix) and fn == name)
            if cum:
                share = cum * 1000 / n / prof_ms
                print(f"  {what:<26}{cum * 1000 / n:8.3f} ms  {share:6.1%} of the profiled request (cumulative)")
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(15)
        print("  top 15 by own time:\n" + out.getvalue().split("\n\n", 1)[-1].rstrip())
    profile_submissions(app, cat, choice.submit_item, n // 3)


SUBMIT_PARTS = (  # (what, file suffix, function): cumulative times
    ("drafts.open_api", "engine/service/drafts.py", "open_api"),
    ("uploads.check_quota", "engine/service/uploads.py", "check_quota"),
    ("uploads.store", "engine/service/uploads.py", "store"),
    ("posix.fsync", "~", "<built-in method posix.fsync>"),
    ("CaseService.submit", "engine/service/cases.py", "submit"),
    ("sqlite3 commit", "~", "<method 'commit' of 'sqlite3.Connection' objects>"),
)


def profile_submissions(app: Any, cat: Catalogue, code: str, n: int) -> None:
    """``n`` valid submissions in-process (a draft, its upload, the case), as the bench's client makes them."""
    data, ups = sample_application(cat, cat.items[code])
    data = json.loads(json.dumps(data, ensure_ascii=False, default=str))
    mp = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    body = multipart(small_pdf())
    times: dict[str, list[float]] = {"draft": [], "upload": [], "case": []}

    async def one(i: int) -> None:
        t0 = time.perf_counter()
        status, reply = await asgi_request(app, "POST", "/api/drafts")
        t1 = time.perf_counter()
        if status != 201:
            raise Broken(f"POST /api/drafts answered {status}: {reply[:300]!r}")
        draft = json.loads(reply)["draft"]
        files = {}
        for m in ups:
            status, reply = await asgi_request(app, "POST", "/api/uploads", body, mp | {"x-draft-token": draft})
            if status != 201:
                raise Broken(f"upload answered {status}: {reply[:300]!r}")
            files[m] = [json.loads(reply)["upload_id"]]
        t2 = time.perf_counter()
        case = {"item": code, "data": data, "uploads": files, "draft": draft, "idempotency_key": f"profile-{i}"}
        payload = json.dumps(case, ensure_ascii=False).encode()
        status, reply = await asgi_request(app, "POST", "/api/cases", payload, {"content-type": "application/json"})
        if status != 201:
            raise Broken(f"submission answered {status}: {reply[:300]!r}")
        t3 = time.perf_counter()
        for what, a, b in (("draft", t0, t1), ("upload", t1, t2), ("case", t2, t3)):
            times[what].append((b - a) * 1000)

    async def many(start: int) -> None:
        for i in range(start, start + n):
            await one(i)

    asyncio.run(many(0))  # warm
    t0 = time.perf_counter()
    asyncio.run(many(n))
    threaded = (time.perf_counter() - t0) * 1000 / n
    with inline_threadpool():
        for v in times.values():
            v.clear()
        prof = cProfile.Profile()
        prof.enable()
        t0 = time.perf_counter()
        asyncio.run(many(2 * n))
        prof_ms = (time.perf_counter() - t0) * 1000 / n
        prof.disable()
    parts = ", ".join(f"{k} {statistics.median(v):.2f} ms" for k, v in times.items())
    print(f"\n--- valid submissions of {code} (draft, {len(ups)} upload(s), case), one at a time: "
          f"{threaded:.3f} ms each in-process; {prof_ms:.3f} ms under cProfile with the worker-thread hops "
          f"inline (median {parts}) ---")  # fmt: skip
    table: dict[tuple[str, int, str], Any] = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    for what, suffix, name in SUBMIT_PARTS:
        cum = sum(v[3] for (file, _, fn), v in table.items() if file.endswith(suffix) and fn == name)
        if cum:
            print(f"  {what:<26}{cum * 1000 / n:8.3f} ms  {cum * 1000 / n / prof_ms:6.1%} of a submission (cumulative)")
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(15)
    print("  top 15 by own time:\n" + out.getvalue().split("\n\n", 1)[-1].rstrip())


# ---------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def installed(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def print_table(figures: list[Figure]) -> None:
    print(f"\n{'measurement':<44}{'tool':<16}{'conn':>5}{'s':>6}{'per s':>10}{'p50 ms':>9}{'p99 ms':>9}  note")
    for f in figures:
        if f.rate is None:
            print(f"{f.label:<44}{f.tool:<16}{'':>5}{'':>6}{'—':>10}{'':>9}{'':>9}  {f.note}")
            continue
        p50 = f"{f.p50_ms:.2f}" if f.p50_ms is not None else ""
        p99 = f"{f.p99_ms:.2f}" if f.p99_ms is not None else ""
        conn = str(f.connections) if f.connections else ""
        secs = f"{f.seconds:.1f}" if f.seconds else ""
        print(f"{f.label:<44}{f.tool:<16}{conn:>5}{secs:>6}{f.rate:>10,.0f}{p50:>9}{p99:>9}  {f.note}")


def print_targets(served: dict[str, Figure], plain: dict[str, float], submit: Figure) -> None:
    print("\ntargets")
    for label in ("item guide page", "blank form page"):
        f = served.get(label)
        if f is None or f.rate is None:
            print(f"  {label:<34}skipped (wrk not installed)")
            continue
        mark = verdict(f.rate >= TARGET_RPS)
        print(f"  {label:<34}{f.rate:>10,.0f} req/s     target >= {TARGET_RPS:,.0f} req/s     {mark}")
        ratio = f.rate / plain[label]
        print(
            f"  {label + ' / plain render':<34}{ratio:>10.2f}x         target >= {TARGET_VS_PLAIN:.0f}x"
            f"{'':<14}{verdict(ratio >= TARGET_VS_PLAIN)}"
        )
    ok = submit.rate is not None and submit.rate >= TARGET_SUBMISSIONS
    print(
        f"  {'valid submissions (1 file)':<34}{submit.rate or 0:>10,.0f} /s        target >= "
        f"{TARGET_SUBMISSIONS:.0f}/s{'':<11}{verdict(ok)}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--duration", type=float, default=DEFAULT_DURATION, help="seconds per figure (default 10, max 15)")
    ap.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK_DURATION:g} s per figure")
    ap.add_argument("--render-seconds", type=float, help="seconds of plain renders per page (default: duration / 3)")
    ap.add_argument("--submit-connections", type=int, default=SUBMIT_CONNECTIONS, help="default 8")
    ap.add_argument("--item", help="item for the guide and form pages (default: the one with the most form fields)")
    ap.add_argument("--page", help="form page (section id) of that item (default: its page with the most fields)")
    ap.add_argument("--submit-item", help="item for the target submission (default: the largest one-file item)")
    ap.add_argument("--profile", action="store_true", help="profile one guide and one form request in-process")
    ap.add_argument("--dir", type=Path, help="where the database and uploads go (default: a temporary directory)")
    args = ap.parse_args(argv)
    seconds = QUICK_DURATION if args.quick else min(max(args.duration, 1.0), MAX_DURATION)
    render_seconds = args.render_seconds or max(1.0, seconds / 3)
    try:
        result = load(REPO)
        if not result.ok:
            raise Broken(f"the reference catalogue has {len(result.problems)} problem(s); run yangguang check")
        cat = result.catalogue
        choice = choose(cat, args.item, args.page, args.submit_item)
        with tempfile.TemporaryDirectory(prefix="yangguang-bench-web-", dir=args.dir) as tmp:
            workdir = Path(tmp)
            if args.profile:
                profile(cat, choice, workdir, 300)
                return 0
            return run(cat, choice, workdir, seconds, render_seconds, args.submit_connections)
    except Broken as exc:
        print(f"\nFAILED — the benchmark is meaningless: {exc}")
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; the server was stopped")
        return 130


def run(cat: Catalogue, choice: Choice, workdir: Path, seconds: float, render_seconds: float, sub_conn: int) -> int:
    have_wrk = shutil.which("wrk") is not None
    print(
        f"{os.cpu_count()} CPUs ({platform.machine()}), Python {platform.python_version()}, uvicorn "
        f"{installed('uvicorn')} (http: {'httptools' if installed('httptools')[0].isdigit() else 'h11'}, "
        f"loop: {'uvloop' if installed('uvloop')[0].isdigit() else 'asyncio'}), Starlette {installed('starlette')}, "
        f"Jinja2 {installed('Jinja2')}, {wrk_version() if have_wrk else 'wrk not installed'}; "
        f"{seconds:g} s per figure; data in {workdir}"
    )
    print(
        f"guide page /items/{choice.item} and form page /apply/{choice.item}/{choice.page} "
        f"({choice.page_fields} fields on the page, {choice.item_fields} in the item's form: the most); "
        f"target submission {choice.submit_item} ({choice.submit_fields} fields, 1 file: the largest one-file item)"
    )
    if not have_wrk:
        print(f"wrk is not installed: its rows are skipped. Install it with:  {WRK_INSTALL}")
    env = plain_environment()
    guide, form = pages_of(cat, env, choice)
    pdf = small_pdf()
    figures: list[Figure] = []
    served: dict[str, Figure] = {}
    plain: dict[str, float] = {}
    with server(workdir) as port:
        base = f"http://{HOST}:{port}"
        checks = []
        for page in (guide, form):
            status, body = get(port, page.path)  # also warms the server: templates compiled, flowchart drawn
            if status != 200:
                raise Broken(f"GET {page.path} answered {status}")
            checks.append(f"{page.label}: {same_page(body, page.render(page.build()))}")
        print("\n".join(checks), flush=True)
        for page in (guide, form):
            if have_wrk:
                print(f"  wrk {page.path} …", flush=True)
                fig = run_wrk(page.label, base + page.path, seconds)
            else:
                fig = Figure(page.label, "wrk", 0, 0, None, note=f"skipped: {WRK_INSTALL}")
            served[page.label] = fig
            figures.append(fig)
            ctx = page.build()
            med, lo, hi = rate(lambda page=page, ctx=ctx: page.render(ctx), render_seconds)  # type: ignore[misc]
            plain[page.label] = med
            figures.append(
                Figure("  plain Jinja2 render, same page", "in-process", 0, render_seconds, med, note=(
                    f"reference: {1000 / med:.3f} ms/render, range {lo:,.0f}–{hi:,.0f}/s; context built once"))
            )  # fmt: skip
            both, _, _ = rate(lambda page=page: page.render(page.build()), render_seconds / 2)  # type: ignore[misc]
            figures.append(
                Figure("  context + render (as the handler does)", "in-process", 0, render_seconds / 2, both,
                       note=f"informational: {1000 / both:.3f} ms")
            )  # fmt: skip
        if have_wrk:
            n = drafts_for_wrk(seconds)
            print(f"  wrk POST /api/uploads ({n:,} drafts opened first) …", flush=True)
            script = upload_script(workdir, multipart(pdf), asyncio.run(open_drafts(port, n)))
            figures.append(run_wrk(f"multipart upload, {len(pdf)} B PDF", base + "/api/uploads", seconds, script))
        else:
            figures.append(Figure("multipart upload", "wrk", 0, 0, None, note=f"skipped: {WRK_INSTALL}"))
        print(f"  submissions of {choice.submit_item} …", flush=True)
        submit = measure_submissions(
            f"valid submission {choice.submit_item}", port, cat, choice.submit_item, pdf, seconds, sub_conn, "one"
        )
        figures.append(submit)
        print(f"  submissions of {choice.item} …", flush=True)
        figures.append(
            measure_submissions(
                f"valid submission {choice.item} (info)", port, cat, choice.item, pdf, seconds, sub_conn, "form"
            )
        )
        log = tail(workdir / "server.log")
    print_table(figures)
    print_targets(served, plain, submit)
    if log.strip():
        print(f"\nserver log (warnings and errors):\n{log}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
