"""Report intervals (SPEC §4 "Report intervals"): 15-minute, hourly, daily... records as the exact
rollup of the primary windows they cover."""
