"""Stages 2 and 4, analysis: what the Go source states (`source`), the evidence a rule reads from an event
(`evidence`), the findings the rule engine makes of a package's events (`findings`), and what changed
between two sets of findings (`compare`). The rules themselves (stage 3) are `escapelint.rules`.
"""
