"""Helpers of bench/run: measuring processes, the methods compared, reports."""
