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
