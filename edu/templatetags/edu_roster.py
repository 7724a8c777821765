"""Template tags of the roster pages: a parsed row's class and gender, shown as the site shows them."""

from django import template

from edu.models import SchoolClass, Student

register = template.Library()


@register.simple_tag
def class_label(grade: int, name: str) -> str:
    return SchoolClass(grade=grade, name=name).label


@register.simple_tag
def gender_label(code: str) -> str:
    return Student.Gender(code).label if code in Student.Gender.values else "—"
