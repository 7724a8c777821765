"""Django admin for the bank, quizzes and attempts."""

from django.contrib import admin

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
    readonly_fields = ["fingerprint", "current_version", "translation_group", "created_by", "created_at"]
    list_select_related = ["current_version", "category"]
    inlines = [QuestionVersionInline]


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
