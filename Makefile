# Everyday entry points. `make test` is what CI runs (.ci/run).
PY := .venv/bin/python
PYTEST_ARGS ?=
# The venv first on PATH: tools that run a bare `python` (PyFlink's thread mode looks up
# libpython that way unless python.executable is set) must get the venv's interpreter.
export PATH := $(CURDIR)/.venv/bin:$(PATH)

.PHONY: setup test demo lint kafka-start kafka-stop clean-java

setup:  ## venv + Python packages + Java jars (fast when already done)
	@tools/setup.sh

# pytest's exit code 5 ("no tests collected") is non-zero, so it fails this target like any other.
test: setup  ## set up, then run the whole test suite
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; \
	exit $$rc

demo: setup  ## set up, then run the end-to-end demo
	$(PY) -m tools.demo

lint:  ## ruff over the Python code
	.venv/bin/ruff check .

kafka-start: setup  ## a local broker in the background (var/kafka/); prints its address
	@$(PY) -m tools.kafka_local start

kafka-stop:  ## stop that broker
	@$(PY) -m tools.kafka_local stop

clean-java:  ## remove the Maven outputs (lib/, target/); the next setup rebuilds them
	rm -rf lib target
