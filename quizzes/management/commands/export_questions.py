"""`python manage.py export_questions FILE`: the bank as .xlsx or .csv (by the file's extension).

The file is the wide layout with a language column, which `import_questions` reads back to the same
questions (type, stem, options, answer, explanation, difficulty, category path, audience, tags, source).
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, no_translations
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from edu.tabular import write_csv, write_xlsx
from quizzes.bank_selectors import categories_primed
from quizzes.importing import LANGUAGES, export_rows
from quizzes.models import Question
from quizzes.services import parsed_from_question


class Command(BaseCommand):
    help = "Export the question bank to .xlsx or .csv, a file import_questions reads back unchanged."

    def add_arguments(self, parser):
        parser.add_argument("file", help="where to write: a name ending in .xlsx or .csv")
        parser.add_argument(
            "--status", choices=Question.Status.values, help="only questions with this status"
        )
        parser.add_argument("--language", choices=LANGUAGES, help="only questions in this language")

    # Its output is a documented contract (`N questions imported`, `row N: message`): always in English.
    @no_translations
    def handle(self, *args, file: str, status: str | None, language: str | None, **options):
        path = Path(file)
        suffix = path.suffix.lower()
        if suffix not in (".xlsx", ".csv"):
            raise CommandError(_("The file name must end in .xlsx or .csv: %(path)s") % {"path": file})
        questions = Question.objects.select_related("current_version").order_by("category_path", "pk")
        if status:
            questions = questions.filter(status=status)
        if language:
            questions = questions.filter(language=language)
        questions = list(questions)
        categories_primed(questions)
        header, rows = export_rows(parsed_from_question(question) for question in questions)
        data = (
            write_xlsx(header, rows, sheet_title="questions")
            if suffix == ".xlsx"
            else write_csv(header, rows)
        )
        try:
            path.write_bytes(data)
        except OSError as exc:
            raise CommandError(_("Cannot write %(path)s: %(error)s") % {"path": file, "error": exc}) from exc
        self.stdout.write(
            ngettext(
                "%(count)s question exported to %(path)s",
                "%(count)s questions exported to %(path)s",
                len(questions),
            )
            % {"count": len(questions), "path": file}
        )
