"""Question bank, self-paced quizzes and exams, and live contests."""
