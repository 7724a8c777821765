"""Pure logic for live contests (scoring and the contest state machine), free of Django."""
