"""Longitudinal outcomes: re-referral, repeat CP plans, re-entry to care, pathways, education and trends.

Each module holds DataFrame-in/DataFrame-out functions for one measure; ``csc_demand.stages.outcomes`` reads
the silver (and gold category) tables, calls them and writes the gold tables. Definitions: docs/methods.md.
"""
