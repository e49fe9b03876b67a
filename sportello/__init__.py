"""Sportello: help desk for enti del Terzo Settore."""
