"""What the core tells the layers above it (stats keeps its rollups with these), sent after the commit of the
transaction that made the change."""

from django.dispatch import Signal

# A roster student claimed their account: student=<Student>.
student_claimed = Signal()
