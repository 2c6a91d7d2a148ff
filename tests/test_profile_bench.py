"""`audit --bench` and `audit --profile` end to end on a real Go toolchain (issue 12)."""

from __future__ import annotations

import json

import pytest

from .test_workflows import escapelint, go_env, module_repo  # noqa: F401 - go_env is a fixture

pytestmark = pytest.mark.toolchain


def test_audit_bench_ranks_the_example_by_bytes(tmp_path, go_env):  # noqa: F811
    repo = module_repo(tmp_path, go_env)
    result = escapelint(["audit", "--bench", ".", "--benchtime", "500x", "-f", "json:r.json", "-f", "html:site"], repo, go_env)
    assert result.returncode == 0, result.stderr
    assert "-memprofilerate=1 (every allocation is recorded: exact figures)" in result.stderr
    assert "running go test -run ^$ -bench . -benchtime 500x -memprofile $TMP/" in result.stderr
    ranking = result.stderr.split("heap sites by bytes allocated:\n", 1)[1]
    # BenchmarkApply parses 500 lines: each is a new &Command{...}, the costliest site of the example.
    assert "kv/parse.go:20:9: [returned-pointer] &Command{...} in Parse" in ranking.splitlines()[0]
    assert "fix: Return by value" in ranking.splitlines()[1]
    assert "not exercised by this profile" in result.stderr
    document = json.loads((repo / "r.json").read_text())
    events = [e for p in document["packages"] for e in p["events"] if "profile" in e]
    top = max(events, key=lambda e: e["profile"]["bytes"])
    assert (top["file"], top["line"], top["column"]) == ("kv/parse.go", 20, 9)
    assert top["profile"]["objects"] >= 500
    # kvdemo's main is not run by the benchmark: every site there is "not exercised", none "free".
    main_sites = [e for e in events if e["function"] == "main"]
    assert main_sites and all(not e["profile"]["exercised"] for e in main_sites)
    assert document["profile"]["files"] and document["profile"]["sample_types"][1] == "alloc_space/bytes"
    assert (repo / "site" / "index.html").is_file()
    assert not list(repo.rglob("*.test")) and not list(repo.rglob("*.pb.gz"))  # nothing left in the module


def test_a_failing_benchmark_exits_3_with_its_output(tmp_path, go_env):  # noqa: F811
    repo = module_repo(tmp_path, go_env)
    (repo / "kv" / "fail_test.go").write_text(
        'package kv\n\nimport "testing"\n\nfunc BenchmarkBroken(b *testing.B) {\n\tb.Fatal("broken on purpose")\n}\n'
    )
    result = escapelint(["audit", "--bench", "Broken", "-f", "json:r.json"], repo, go_env)
    assert result.returncode == 3, result.stderr
    assert "escapelint: the benchmarks failed (exit 1)" in result.stderr
    assert "broken on purpose" in result.stderr
    assert not (repo / "r.json").exists()


def test_audit_profile_reads_a_profile_of_the_same_code(tmp_path, go_env):  # noqa: F811
    import subprocess

    repo = module_repo(tmp_path, go_env)
    profile = tmp_path / "mem.pb.gz"
    subprocess.run(
        ["go", "test", "-run", "^$", "-bench", ".", "-benchtime", "200x", "-memprofile", str(profile),
         "-memprofilerate=1", "-o", str(tmp_path / "kv.test"), "./kv"],
        cwd=repo, env=go_env, check=True, capture_output=True,
    )  # fmt: skip
    result = escapelint(["audit", "--profile", str(profile), "-f", "json:r.json"], repo, go_env)
    assert result.returncode == 0, result.stderr
    document = json.loads((repo / "r.json").read_text())
    assert document["profile"]["attributed"]["bytes"] > 0


HOT_LEAK = """
// Hot allocates 1 KiB per call: a new heap escape its benchmark exercises.
func Hot() *[1024]byte {
	return new([1024]byte)
}

// Cold is a new heap escape nothing runs.
func Cold() *int {
	x := 42
	return &x
}
"""
HOT_BENCH = 'package kv\n\nimport "testing"\n\nvar keep *[1024]byte\n\nfunc BenchmarkHot(b *testing.B) {\n\tfor i := 0; i < b.N; i++ {\n\t\tkeep = Hot()\n\t}\n}\n'


def _profile(repo, env, tmp_path):
    import subprocess

    profile = tmp_path / "mem.pb.gz"
    subprocess.run(
        ["go", "test", "-run", "^$", "-bench", "Hot", "-benchtime", "100x", "-memprofile", str(profile),
         "-memprofilerate=1", "-o", str(tmp_path / "kv.test"), "./kv"],
        cwd=repo, env=env, check=True, capture_output=True,
    )  # fmt: skip
    return profile


def test_check_fails_only_on_new_sites_that_allocate_fail_on_bytes(tmp_path, go_env):  # noqa: F811
    from .test_workflows import commit

    repo = module_repo(tmp_path, go_env)
    assert escapelint(["baseline", "-q"], repo, go_env).returncode == 0
    commit(repo, go_env, "baseline")
    with (repo / "kv" / "store.go").open("a") as store:
        store.write(HOT_LEAK)
    (repo / "kv" / "hot_test.go").write_text(HOT_BENCH)
    profile = _profile(repo, go_env, tmp_path)
    (repo / ".escapelint.toml").write_text('baseline = ".escapelint-baseline.json"\nfail-on-bytes = 1024\n')
    result = escapelint(["check", "--profile", str(profile), "kv/store.go"], repo, go_env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "new(" in result.stdout and "Hot" in result.stdout and "&x" not in result.stdout.replace("x := 42", "")
    assert "allocated less than fail-on-bytes (1.0 kB) in the profile, not failing" in result.stderr
    assert "Cold" in result.stderr
    # Without a profile every new site counts, and a warning says why.
    without = escapelint(["check", "kv/store.go"], repo, go_env)
    assert without.returncode == 1 and "fail-on-bytes is configured but `check` was given no --profile" in without.stderr


def test_diff_gates_on_max_new_bytes(tmp_path, go_env):  # noqa: F811
    repo = module_repo(tmp_path, go_env)
    with (repo / "kv" / "store.go").open("a") as store:
        store.write(HOT_LEAK)
    (repo / "kv" / "hot_test.go").write_text(HOT_BENCH)
    profile = _profile(repo, go_env, tmp_path)
    (repo / ".escapelint.toml").write_text("max-new = 5\nmax-new-bytes = 1000000\n")
    passed = escapelint(["diff", "--base", "main", "--profile", str(profile), "-f", "json:d.json", "-f", "md:c.md"], repo, go_env)
    assert passed.returncode == 0, passed.stderr
    assert "max-new-bytes 1.0 MB" in passed.stderr
    document = json.loads((repo / "d.json").read_text())
    hot = next(a for a in document["added"] if a["function"] == "Hot")
    assert hot["profile"]["bytes"] >= 100 * 1024 and document["new_bytes"] >= hot["profile"]["bytes"]
    assert "The heap profile saw the new sites allocate" in (repo / "c.md").read_text()
    (repo / ".escapelint.toml").write_text("max-new = 5\nmax-new-bytes = 1024\n")
    failed = escapelint(["diff", "--base", "main", "--profile", str(profile)], repo, go_env)
    assert failed.returncode == 1, failed.stderr
