import sys
from pathlib import Path

# The loopback process helpers (sendguard subprocesses, the aiosmtpd sink) live beside the
# console's end-to-end test; the Postfix test uses the same ones.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "console"))
