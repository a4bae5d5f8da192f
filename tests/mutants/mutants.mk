# --- mutants ---
# `make mutants`: the project's own mutation check (tests/mutants/, docs/
# testing.md "The mutation check").  Each mutant of tests/mutants/mutants.list
# is applied to a copy of the tree under $(BUILD)/mutants (never to the tree
# itself), the unit tests (and the integration tests its entry names) are
# rebuilt and run, and the kill rate and the survivors are printed.  MUTANTS=name1,name2 checks only those;
# MUTANTS_JOBS (default 2) mutants are checked at a time; with SANITIZE the
# copies are built with the sanitizers too.  Not part of
# `make test` (a build per mutant); `make test` runs the tool's own test,
# tests/integration/test_mutants_tool.sh.
MUTANTS ?=
MUTANTS_JOBS ?= 2
.PHONY: mutants

mutants: $(UNIT_BIN) $(KUBECTL_DOUBLE)
	@tests/mutants/run-mutants.sh --jobs $(MUTANTS_JOBS) --seed-build $(BUILD) \
		--scratch $(BUILD)/mutants $(if $(MUTANTS),--only $(MUTANTS))
