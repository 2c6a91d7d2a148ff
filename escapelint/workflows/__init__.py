"""Stage 6, workflows: what a user runs, built from the stages below.

`report` reads a file of compiler output and writes reports (`parallel` does it with worker
processes); `audit` builds a module with the real Go toolchain (`gobuild`) and analyses it as it
streams; `gate` is the pre-commit check against a `baseline` or the lines `git` says changed, with
`suppressions` and `config`; `diff` compares two revisions. The CLI (`escapelint.cli`) sits on top.
"""
