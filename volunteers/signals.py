"""What the volunteer side tells the layers above it (stats keeps its rollups with these), sent after the
commit of the transaction that made the change."""

from django.dispatch import Signal

# An hour record was approved (a correction's approval too): record=<HourRecord>.
hours_approved = Signal()
