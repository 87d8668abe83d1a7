"""The yangguang command: one module per command group; expected errors exit 1, bugs exit 3."""
