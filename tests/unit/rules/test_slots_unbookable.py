"""``yangguang check`` warns when an item says it can be booked online but appointments.yaml has no counter
for it: the reference catalogue is clean, and it stops being so when a window leaves the file."""

from __future__ import annotations

import dataclasses
from typing import Any

from engine.base.result import severity
from engine.rules import slots


def test_the_reference_has_a_counter_for_every_item_that_says_booking(reference: Any) -> None:
    cat = reference.catalogue
    assert slots.unbookable(cat, cat.center["departments"]) == []


def test_an_item_whose_window_left_the_file_is_a_warning(reference: Any) -> None:
    data = dict(reference.catalogue.appointments)
    data["counters"] = [c for c in data["counters"] if c["id"] != "amr"]
    cat = dataclasses.replace(reference.catalogue, appointments=data)
    found = slots.unbookable(cat, cat.center["departments"])
    assert found and all(f.kind == "booking-no-counter" and f.path == ("online", "booking") for f in found)
    assert {f.file.split("/")[1] for f in found} == {"amr"}
    assert severity("booking-no-counter") == "warning"
