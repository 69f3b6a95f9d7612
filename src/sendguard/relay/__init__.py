"""sendguard relay: an SMTP hop that checks each message before it leaves.

Clients (a mail client, an application, or an MTA such as Postfix) submit to the relay instead
of the real submission server. The relay runs the same `Guard.check()` as `sendguard check`
and then forwards the message, holds it in quarantine, or refuses it; see server.py for the
SMTP side, delivery.py for the upstream side and store.py for the queue they share.

Not an open relay. The relay accepts a message only when
- MAIL FROM is in one of the organisation's `internal_domains`, or
- the client authenticated (AUTH PLAIN/LOGIN, offered only inside STARTTLS, against
  `[relay.users]` scrypt hashes).
It listens on 127.0.0.1 by default. The internal-domain rule is only as strong as the network
in front of it (anyone who can connect can write any MAIL FROM), so the relay refuses to listen
on a non-loopback address unless `[relay] require_auth = true`, which makes every client
authenticate before MAIL.

No message is lost. A client hears 250 only after the message and its decision are committed
(SQLite with WAL and synchronous=FULL, or a PostgreSQL commit); an upstream failure leaves it
queued and retried with backoff; after a crash the restarted relay delivers what was queued.
A duplicate is possible only for a message whose upstream hand-off was in flight at the crash.
"""

from sendguard.relay.errors import MessageNotFound, QueueError, StoreError, WrongState
from sendguard.relay.store import Decision, MessageSummary, NewMessage, Store, StoredMessage

__all__ = [
    "Decision",
    "MessageNotFound",
    "MessageSummary",
    "NewMessage",
    "QueueError",
    "Store",
    "StoreError",
    "StoredMessage",
    "WrongState",
]
