"""The rule registry: every rule sendguard runs, in the order findings are reported.

Rules are listed explicitly (no discovery magic) so the set a release runs is plain to read.
"""

from sendguard.rules.apology_quality import ApologyQuality
from sendguard.rules.balance_mismatch import BalanceMismatch
from sendguard.rules.base import Rule
from sendguard.rules.cross_account_recipients import CrossAccountRecipients
from sendguard.rules.foreign_account_content import ForeignAccountContent
from sendguard.rules.greeting_mismatch import GreetingMismatch
from sendguard.rules.hostile_tone import HostileTone
from sendguard.rules.lookalike_domain import LookalikeDomain
from sendguard.rules.missing_attachment import MissingAttachment
from sendguard.rules.spelling import Spelling
from sendguard.rules.test_marker import TestMarker
from sendguard.rules.unresolved_placeholder import UnresolvedPlaceholder

RULES: list[type[Rule]] = [
    CrossAccountRecipients,
    LookalikeDomain,
    ForeignAccountContent,
    TestMarker,
    UnresolvedPlaceholder,
    MissingAttachment,
    BalanceMismatch,
    Spelling,
    HostileTone,
    GreetingMismatch,
    ApologyQuality,
]
