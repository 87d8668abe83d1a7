"""The law's rules, pure (no SQL, no HTTP): working-day calendar, clock and lights, the case state
machine, fees, chains, forms and notices."""
