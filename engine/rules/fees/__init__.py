"""Fee schedules (收费标准): exact, itemised assessment with its legal basis.

A schedule (``fees/<id>.yaml``, checked by ``schema/fee.schema.json``) has fee
lines of four kinds, plus exemptions (免收) and reductions (减收)::

    fixed       amount                      80 yuan per case
    per_unit    rate × (quantity − free)    10 yuan per certificate, first copy free
    tiered      bands of a numeric field    progressive (分段累计, like tax) or whole
    percentage  percent of a money field    with optional minimum and maximum

Money is exact: amounts in YAML are integer yuan or strings with at most two
decimals, held here as integer fen (1 yuan = 100 fen) and never as floats.

Modules: ``schedule`` (what a schedule says, its money and words, the fields it reads),
``assessment`` (a schedule against an application: lines, reliefs, total; the rounding rule),
``results`` (the assessment as records) and ``text`` (schedules and assessments in words, for
guides, notices and the command line).
"""
