"""What the quiz side tells the layers above it (stats keeps its rollups with these), sent after the commit of
the transaction that made the change, so a receiver reads the committed rows."""

from django.dispatch import Signal

# An attempt was scored and closed: attempt=<Attempt>. A submission served on the event loop sends it there
# when every receiver's `runs_on_loop(attempt=...)` says it touches no database for this attempt, and on a
# thread otherwise (edu/eventloop.send_on_loop).
attempt_submitted = Signal()
# A live contest finished and its players' attempts were recorded: contest=<LiveContest>.
contest_finished = Signal()
