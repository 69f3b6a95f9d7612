"""Each rule's test module lists TRIGGERS (messages that must fire the rule) and NEAR_MISSES
(messages that look alike but must not). `check_cases` runs both lists through the real guard."""
