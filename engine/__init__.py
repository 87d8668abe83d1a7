"""Yangguang (阳光): one generic engine for every approval item a catalogue describes."""

__version__ = "0.1.0"
