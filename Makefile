# The two commands of the README:
#   make demo   install everything, then check the shipped example messages
#   make test   install everything, then lint and run the test suite (what CI runs)
.PHONY: install demo test lint compare

install:
	./scripts/bootstrap.sh

# Exit 1 means "something would be blocked": expected on the shipped bad examples.
demo: install
	.venv/bin/sendguard check --config examples/org/sendguard.toml examples/messages/*.eml || test $$? -eq 1
	.venv/bin/sendguard campaign check --config examples/campaign/sendguard.toml \
		examples/campaign/purchase-thanks.eml examples/campaign/audience.csv || test $$? -eq 1

lint: install
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench

# The relay's PostgreSQL tests need a real server: scripts/ci-postgres.sh starts Debian's on loopback.
test: lint
	SENDGUARD_TEST_PG_URL="$$(./scripts/ci-postgres.sh)" .venv/bin/pytest -q

compare: install
	.venv/bin/python bench/compare.py
