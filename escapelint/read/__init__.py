"""Stage 1, reading: compiler output text → message objects (the Lark grammar in grammars/) → per-package events.

`input` opens the text, `messages` holds the grammar's parser and message objects, `matchers` runs the
grammar's own rules as compiled regexes, `classifier` gives every line its message (memoized), and
`assembler` streams the lines into `escapelint.events.PackageOutput`s with exact line accounting.
Nothing here knows of findings, rules or reports.
"""
