"""Fetch a workspace from police.uk, the ONS Open Geography Portal and Nomis; keep it current."""
