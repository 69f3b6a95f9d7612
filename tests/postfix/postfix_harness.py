"""A private, loopback-only Postfix instance for tests: its own config directory, queue and log.

Runs `postfix -c DIR start` with a main.cf/master.cf written here, so the system's /etc/postfix
and /var/spool/postfix are never read or touched. Needs root (Postfix's master drops privileges
to the `postfix` user itself) and Debian's postfix package.

The instance is wired as a before-queue proxy, the way the README tells users to do it:

    client --> smtpd :submit_port  --smtpd_proxy_filter-->  filter (sendguard relay)
    filter --> smtpd :reinject_port (no filter) --> queue --> smtp --> relayhost (the sink)
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

# Only the services this setup uses; chroot is off ("n" in column 5) because the private queue
# directory has none of the files a chroot jail needs.
_MASTER_SERVICES = """\
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
showq     unix  n       -       n       -       -       showq
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def postfix_missing() -> str | None:
    """Why a real Postfix cannot run here, or None when it can."""
    if shutil.which("postfix") is None or shutil.which("postconf") is None:
        return "Debian's postfix package is not installed (postfix/postconf not on PATH)"
    if os.geteuid() != 0:
        return "postfix must be started as root (its master process drops privileges itself)"
    return None


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f} s") from None
            time.sleep(0.05)


class Postfix:
    """One private Postfix instance; `start()` then `stop()` (always, in a finally/teardown)."""

    def __init__(
        self, *, submit_port: int, proxy_filter_port: int, reinject_port: int, relayhost_port: int
    ) -> None:
        self.submit_port = submit_port
        self.reinject_port = reinject_port
        # Not pytest's tmp_path: that lives under a 0700 directory the `postfix` user cannot
        # enter, and every Postfix daemon chdirs into the queue directory.
        self.root = Path(tempfile.mkdtemp(prefix="sendguard-postfix-"))
        self.root.chmod(0o755)
        self.config_dir = self.root / "etc"
        self.queue_dir = self.root / "spool"
        self.log_file = self.root / "maillog"
        self.config_dir.mkdir()
        self.queue_dir.mkdir()
        (self.config_dir / "main.cf").write_text(
            f"""\
compatibility_level = 3.6
myhostname = sendguard-test.localdomain
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:{relayhost_port}
smtp_dns_support_level = disabled
smtp_tls_security_level = none
smtpd_relay_restrictions = permit_mynetworks, reject
queue_directory = {self.queue_dir}
data_directory = {self.root / "data"}
maillog_file = {self.log_file}
maillog_file_prefixes = {self.root}
alias_maps =
alias_database =
"""
        )
        (self.config_dir / "master.cf").write_text(
            f"""\
# Submission port: each SMTP session is proxied to the filter, whose replies the client sees.
127.0.0.1:{submit_port} inet n - n - - smtpd
  -o smtpd_proxy_filter=127.0.0.1:{proxy_filter_port}
# Where the filter hands accepted mail back: an smtpd without the filter.
127.0.0.1:{reinject_port} inet n - n - - smtpd
  -o smtpd_proxy_filter=
  -o smtpd_client_restrictions=permit_mynetworks,reject
{_MASTER_SERVICES}"""
        )

    def _postfix(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["postfix", "-c", str(self.config_dir), *args], capture_output=True, text=True, timeout=60
        )

    def start(self) -> None:
        result = self._postfix("start")
        if result.returncode != 0:
            raise RuntimeError(f"postfix start failed ({result.returncode}):\n{result.stderr}\n{self.log()}")
        wait_for_port(self.submit_port)
        wait_for_port(self.reinject_port)

    def stop(self) -> None:
        """Stop the master and its children, then remove the instance's directory."""
        pid_file = self.queue_dir / "pid" / "master.pid"
        try:
            if pid_file.exists():
                pid = int(pid_file.read_text().strip() or 0)
                if self._postfix("stop").returncode != 0:
                    self._postfix("abort")
                _wait_gone(pid)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        """Postfix's own log for this instance, for failure messages."""
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else "(no maillog written)"


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while pid and time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
