"""The review console: a small server-rendered web app over the relay's store.

Every page but /login needs a signed session cookie; every POST needs the session's CSRF token
in the form. Message content is untrusted input and only ever reaches a page through Jinja2's
autoescaping (no `|safe`, no markup built in Python), and the Content-Security-Policy allows no
script at all, as a second line of defence should escaping ever be bypassed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import formataddr, getaddresses
from typing import Annotated, Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, StrictUndefined

from sendguard.console.auth import Session, SessionSigner, csrf_ok
from sendguard.console.settings import ConsoleSettings
from sendguard.console.views import age, body_view, finding_view
from sendguard.errors import InputError
from sendguard.guard import Guard
from sendguard.passwords import hash_password, verify_password
from sendguard.relay.errors import MessageNotFound, QueueError, WrongState
from sendguard.relay.store import PENDING, Store, StoredMessage

# `__Host-` makes the browser refuse the cookie unless it is Secure, has Path=/ and no Domain, so
# a sibling host cannot plant or overwrite it. Browsers treat http://127.0.0.1 and localhost as
# secure, so this works for a console on loopback too.
COOKIE = "__Host-sendguard-session"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
VIEWS = {"held": ("held",), "outbox": ("outbox", "delivering"), "pending": PENDING, "all": None}
NOTICES = {
    "released": "Released: the relay will deliver it shortly.",
    "discarded": "Discarded: it will never be sent.",
    "recalled": "Recalled: it will not be sent.",
    "rechecked": "Recipients changed and the message checked again; it stays held until released.",
}
ACTIONS = {
    "release": ("release", "released"),
    "discard": ("discard", "discarded"),
    "recall": ("recall", "recalled"),
}
# A login for an unknown user still runs one scrypt check, so response time does not tell
# which user names exist.
_DUMMY_HASH = hash_password("sendguard-console-dummy", log2_n=15)


class LoginRequired(Exception):
    """Raised by pages when the browser has no valid logged-in session."""


class Forbidden(Exception):
    """Raised by actions without a valid session and matching CSRF token."""


def create_app(guard: Guard, store: Store, settings: ConsoleSettings) -> FastAPI:
    """The console app; `guard` re-checks edited messages, `store` is the relay's queue."""
    app = FastAPI(title="sendguard console", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(packages=[("sendguard.console", "static")]), name="static")
    env = Environment(
        loader=PackageLoader("sendguard.console", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["age"] = age
    env.filters["utc"] = _utc
    signer = SessionSigner(settings.secret_key, settings.session_seconds)

    def render(name: str, session: Session | None, status: int = 200, **context: Any) -> HTMLResponse:
        page = env.get_template(name).render(
            user=session.user if session else None, csrf=session.csrf if session else "", **context
        )
        return HTMLResponse(page, status_code=status)

    def set_session(response: Response, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            signer.dump(session),
            max_age=int(settings.session_seconds),
            path="/",
            secure=True,
            httponly=True,
            samesite="strict",
        )

    def session_of(request: Request) -> Session | None:
        return signer.load(request.cookies.get(COOKIE))

    def logged_in(request: Request) -> Session:
        session = session_of(request)
        if session is None or session.user not in settings.users:
            raise LoginRequired
        return session

    def authorised(request: Request, token: str) -> Session:
        session = session_of(request)
        if session is None or session.user not in settings.users or not csrf_ok(session, token):
            raise Forbidden
        return session

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return render(
            "error.html",
            None,
            403,
            title="Not allowed",
            detail="This form has expired or did not come from the console. Go back, reload the page and try again.",
        )

    @app.exception_handler(MessageNotFound)
    async def not_found(request: Request, exc: MessageNotFound) -> Response:
        return render("error.html", session_of(request), 404, title="No such message", detail=exc.reason)

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> Response:
        session = session_of(request)
        if session is not None and session.user in settings.users:
            return RedirectResponse("/", status_code=303)
        # An anonymous session carries the login form's CSRF token (no login CSRF).
        session = session or signer.new(None)
        response = render("login.html", session, error=None, username="")
        set_session(response, session)
        return response

    @app.post("/login")
    def login(
        request: Request,
        username: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        csrf: Annotated[str, Form()] = "",
    ) -> Response:
        session = session_of(request)
        if not csrf_ok(session, csrf):
            raise Forbidden
        stored = settings.users.get(username)
        ok = verify_password(password, stored if stored is not None else _DUMMY_HASH) and stored is not None
        if not ok:
            return render("login.html", session, 401, error="Wrong user name or password.", username=username)
        response = RedirectResponse("/", status_code=303)
        set_session(response, signer.new(username))
        return response

    @app.post("/logout")
    def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
        authorised(request, csrf)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
        return response

    @app.get("/", response_class=HTMLResponse)
    def queue(request: Request, view: str = "held") -> Response:
        session = logged_in(request)
        if view not in VIEWS:
            view = "held"
        return render(
            "queue.html",
            session,
            view=view,
            views=list(VIEWS),
            counts=store.counts(),
            messages=store.list(VIEWS[view]),
            now=datetime.now(UTC),
        )

    @app.get("/messages/{message_id}", response_class=HTMLResponse)
    def message_page(request: Request, message_id: str, done: str = "") -> Response:
        session = logged_in(request)
        return _message_page(session, store.get(message_id), notice=NOTICES.get(done))

    def _message_page(
        session: Session,
        stored: StoredMessage,
        *,
        status: int = 200,
        notice: str | None = None,
        error: str | None = None,
        to: str | None = None,
        cc: str | None = None,
    ) -> HTMLResponse:
        report = stored.report()
        try:
            msg = guard.parse(stored.raw)
        except InputError:
            msg = None  # shown as raw text: the guard could not read it, the reviewer still can
        headers = {}
        if msg is not None:
            for name in ("From", "To", "Cc", "Bcc", "Subject", "Date"):
                values = msg.source.get_all(name) or []
                if values:
                    headers[name] = ", ".join(str(v) for v in values)
        return render(
            "message.html",
            session,
            status,
            m=stored,
            headers=headers,
            findings=[finding_view(f) for f in report.findings],
            body=body_view(msg, report) if msg is not None else None,
            raw_text=stored.raw.decode("utf-8", errors="replace") if msg is None else None,
            attachments=msg.attachments if msg is not None else [],
            history=store.decisions(message_id=stored.id),
            notice=notice,
            error=error,
            to=headers.get("To", "") if to is None else to,
            cc=headers.get("Cc", "") if cc is None else cc,
            now=datetime.now(UTC),
        )

    @app.post("/messages/{message_id}/{action}")
    def act(request: Request, message_id: str, action: str, csrf: Annotated[str, Form()] = "") -> Response:
        session = authorised(request, csrf)
        if action not in ACTIONS:
            return render(
                "error.html", session, 404, title="No such action", detail=f"unknown action {action!r}"
            )
        method, done = ACTIONS[action]
        try:
            getattr(store, method)(message_id, session.user, note="console")
        except WrongState as exc:
            return _message_page(session, store.get(message_id), status=409, error=exc.reason)
        return RedirectResponse(f"/messages/{message_id}?done={done}", status_code=303)

    @app.post("/messages/{message_id}/recipients/edit")
    def edit_recipients(
        request: Request,
        message_id: str,
        to: Annotated[str, Form()] = "",
        cc: Annotated[str, Form()] = "",
        csrf: Annotated[str, Form()] = "",
    ) -> Response:
        session = authorised(request, csrf)
        try:
            store.replace_recipients(
                message_id, _addresses(to), cc=_addresses(cc), actor=str(session.user), guard=guard
            )
        except MessageNotFound:
            raise
        except WrongState as exc:
            return _message_page(session, store.get(message_id), status=409, error=exc.reason, to=to, cc=cc)
        except QueueError as exc:  # a typo in an address: show the form again with what was typed
            return _message_page(session, store.get(message_id), status=400, error=exc.reason, to=to, cc=cc)
        return RedirectResponse(f"/messages/{message_id}?done=rechecked", status_code=303)

    @app.get("/log", response_class=HTMLResponse)
    def decision_log(request: Request) -> Response:
        session = logged_in(request)
        return render("log.html", session, decisions=store.decisions(limit=300))

    return app


def _addresses(field: str) -> list[str]:
    """A To/Cc box as typed ("Ann <a@x.com>, b@y.org" or one per line) -> one entry per address."""
    text = field.replace("\r", " ").replace("\n", ",")
    # A name without an address is kept (and refused by the store, naming it), so nothing typed
    # is dropped silently; only empty items between commas are skipped.
    return [formataddr((name, addr)) for name, addr in getaddresses([text]) if name or addr]


def _utc(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""
