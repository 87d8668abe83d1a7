"""The case state machine: what may happen next, decided by the item's YAML alone.

Pure logic, no storage: ``actions.decide(case, item, action, actor, payload, now)`` checks an
action and returns the event to record (or raises ``model.ActionRefused``);
``fold.apply(case, event)`` folds an event into the state. A case's state is therefore
always ``fold(events)`` — the store keeps both and a test proves they agree.

States::

    submitted ──accept──────────────▶ in_progress ──steps…──▶ decided ──complete──▶ completed
        │  ├──refuse──▶ refused                      (decide: approve | deny)
        │  └──request_supplement──▶ awaiting_supplement ──supplement──▶ submitted
        └──(5 working days, nobody acted: Art. 32)──▶ in_progress, deemed accepted on receipt

Administrative Licensing Law rules enforced here: one supplement list per submission
(Art. 32), deemed acceptance after the completeness period (Art. 32), one extension
with a reason by the approving role (Art. 42), special procedures that pause the clock
(Art. 45), and the exact-fee gate (a payment must equal the assessment to the fen).

Modules, lowest first: ``model`` (the case, actor, events, refusals), ``steps`` (the item's
steps and their groups), ``law`` (completeness, fee gate, extension, delivery), ``guards``
(the checks actions share), ``actions`` (one function per action, and ``decide``), ``fold``.
"""
