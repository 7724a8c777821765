"""The quiz and volunteer fixtures, for the statistics tests."""

from tests.quizzes.conftest import bank, class_quiz  # noqa: F401 - fixtures
from tests.volunteers.conftest import vworld  # noqa: F401 - fixture
