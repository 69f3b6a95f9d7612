"""The review console: a web app to review, release, discard, recall and re-address held mail.

`sendguard console --listen 127.0.0.1:8025 --config sendguard.toml` serves it; see
`sendguard.console.app` for the security model and `sendguard.console.settings` for `[console]`.
"""
