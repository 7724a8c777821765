"""`python manage.py import_questions FILE`: import a question file (.xlsx, .csv, GIFT, Aiken), all or none.

Output, on stdout: `N questions imported` (or `N questions valid` with --dry-run) and exit status 0; or
one line per problem (`row N: message`, `line N: message` for text files) and exit status 1, with nothing
imported.
Messages are in the active language (the site's LANGUAGE_CODE unless a caller activates another).
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, no_translations
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from quizzes.bank_selectors import bank_duplicates
from quizzes.importing import LANGUAGES, TEXT_SUFFIXES, parse_file
from quizzes.models import Question
from quizzes.services import questions_import


class Command(BaseCommand):
    help = "Import questions from .xlsx, .csv, .gift, .aiken or .txt into the bank; nothing on any error."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the question file")
        parser.add_argument(
            "--dry-run", action="store_true", help="check the file and the bank, import nothing"
        )
        parser.add_argument(
            "--status",
            choices=[Question.Status.READY, Question.Status.DRAFT],
            default=Question.Status.READY,
            help="status of the imported questions (default: ready)",
        )
        parser.add_argument(
            "--default-language",
            choices=LANGUAGES,
            default="zh-hans",
            help="language of a question with no language column whose text does not tell (default: zh-hans)",
        )

    # Its output is a documented contract (`N questions imported`, `row N: message`): always in English.
    @no_translations
    def handle(self, *args, file: str, dry_run: bool, status: str, default_language: str, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": file})
        result = parse_file(path.read_bytes(), path.name, default_language=default_language)
        unit = "line" if path.suffix.lower() in TEXT_SUFFIXES else "row"
        errors = result.errors or bank_duplicates(questions=result.questions, unit=unit)
        if not errors and not dry_run:
            report = questions_import(questions=result.questions, user=None, status=status, unit=unit)
            errors = report.errors
        if errors:
            for error in errors:
                self.stdout.write(str(error))
            raise SystemExit(1)
        count = len(result.questions)
        if dry_run:
            message = ngettext("%(count)s question valid", "%(count)s questions valid", count)
        else:
            message = ngettext("%(count)s question imported", "%(count)s questions imported", count)
        self.stdout.write(message % {"count": count})
