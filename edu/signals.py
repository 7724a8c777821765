"""What the core tells the layers above it (stats keeps its rollups with these), sent after the commit of the
transaction that made the change."""

from django.dispatch import Signal

# A roster student claimed their account: student=<Student>, previously_claimed_at=<datetime or None> (a
# student who claims again with a new slip: their claim moves from that day).
student_claimed = Signal()
