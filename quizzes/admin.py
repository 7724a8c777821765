"""Django admin for the bank, quizzes and attempts."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from quizzes.bank_selectors import flag_explanation, question_item_stats
from quizzes.models import (
    Attempt,
    AttemptItem,
    Category,
    Question,
    QuestionVersion,
    Quiz,
    QuizQuestion,
    QuizRule,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "slug", "parent"]
    search_fields = ["name", "name_en", "slug"]
    readonly_fields = ["path"]
    autocomplete_fields = ["parent"]


class QuestionVersionInline(admin.StackedInline):
    model = QuestionVersion
    extra = 0
    readonly_fields = ["created_at", "created_by"]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "language", "category", "difficulty", "status", "updated_at"]
    list_filter = ["status", "language", "difficulty", "category"]
    search_fields = ["versions__stem", "tags", "fingerprint"]
    autocomplete_fields = ["category", "owner_region", "owner_school"]
    readonly_fields = [
        "item_statistics",
        "fingerprint",
        "current_version",
        "translation_group",
        "created_by",
        "created_at",
    ]
    list_select_related = ["current_version", "category"]
    inlines = [QuestionVersionInline]

    @admin.display(description=_("item statistics"))
    def item_statistics(self, question: Question) -> str:
        """Facility, discrimination and the flags of each version, as the bank's page shows them."""
        if not question.pk:
            return "—"
        lines = []
        for version, stats in question_item_stats(question=question):
            facility = "—" if stats.facility is None else f"{stats.facility:.0%}"
            discrimination = "—" if stats.discrimination is None else f"{stats.discrimination:.2f}"
            flags = "; ".join(flag_explanation(flag) for flag in stats.flags)
            lines.append(
                format_html(
                    "<p><strong>v{}</strong>: {} {} · {} {} · {} {}{}</p>",
                    version.number,
                    _("responses"),
                    stats.responses,
                    _("facility"),
                    facility,
                    _("discrimination"),
                    discrimination,
                    format_html("<br>⚠ {}", flags) if flags else "",
                )
            )
        return format_html_join("", "{}", ((line,) for line in lines)) if lines else "—"


class QuizQuestionInline(admin.TabularInline):
    model = QuizQuestion
    extra = 0
    raw_id_fields = ["question"]


class QuizRuleInline(admin.TabularInline):
    model = QuizRule
    extra = 0


@admin.register(Quiz)
class QuizAdmin(admin.ModelAdmin):
    list_display = ["title", "access", "selection", "language", "opens_at", "closes_at", "is_published"]
    list_filter = ["access", "selection", "language", "is_published", "review"]
    search_fields = ["title", "description"]
    autocomplete_fields = ["campaign", "target_school", "target_class", "owner_school", "owner_region"]
    inlines = [QuizQuestionInline, QuizRuleInline]


class AttemptItemInline(admin.TabularInline):
    model = AttemptItem
    extra = 0
    can_delete = False
    readonly_fields = ["position", "version", "option_order", "selected", "answered_at", "score"]


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ["quiz", "user", "guest_name", "number", "started_at", "submitted_at", "score", "passed"]
    list_filter = ["passed", "quiz"]
    search_fields = ["user__username", "user__nickname", "guest_name", "quiz__title"]
    raw_id_fields = ["user", "school_class", "school"]
    readonly_fields = ["id", "started_at", "deadline", "submitted_at", "score", "max_score", "passed"]
    list_select_related = ["quiz", "user"]
    inlines = [AttemptItemInline]
