"""sendguard: stop customer-facing email mistakes before they leave.

guard = sendguard.load("sendguard.toml")
report = guard.check("reply.eml")        # bytes, a path, or an EmailMessage
report.verdict                           # "pass" | "warn" | "block"
"""

from sendguard.errors import ConfigError, InputError, SendguardError
from sendguard.guard import Guard, load
from sendguard.report import Finding, Location, Report, Severity

__all__ = [
    "ConfigError",
    "Finding",
    "Guard",
    "InputError",
    "Location",
    "Report",
    "SendguardError",
    "Severity",
    "load",
]
