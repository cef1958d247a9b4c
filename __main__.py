"""Pulumi entry point: one stack = one region. All logic lives in the `sovereign` package."""

from sovereign.program import run

run()
