"""Appointments in tests: made-up valid ID numbers and phones, and threads racing for one seat."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from engine.base.identifiers import id_card_check_char


def id_number(n: int) -> str:
    """A valid (made-up) resident ID number, different for each ``n``."""
    first17 = f"23020219800101{n % 1000:03d}"
    return first17 + id_card_check_char(first17)


def phone(n: int) -> str:
    return f"138{n % 10**8:08d}"


def person(n: int) -> dict[str, str]:
    """The keyword arguments of Bookings.book for person ``n``."""
    return {"person": f"张{n}", "id_number": id_number(n), "contact": phone(n)}


def race(n: int, attempt: Callable[[int], Any]) -> list[Any]:
    """Run ``attempt(i)`` for i in range(n) in n threads released at once; each one's result or exception."""
    results: list[Any] = [None] * n
    gate = threading.Barrier(n)

    def run(i: int) -> None:
        gate.wait()
        try:
            results[i] = attempt(i)
        except Exception as exc:  # the test counts the refusals
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
