"""Stage 5, reporting: findings → the report model (`categories`, `facts`, `page`, `index`) → writers → files.

One model feeds every format: the format registry (`formats`) hands each package's page to the
writers (`html`, `markdown`, `sarif`, `annotations`; `json` streams events; `diff` renders a
comparison), and `output` is the one place that decides where and how a file may be written.
Templates (`templates/`) only lay out what the model has already decided.
"""
