"""Writes of the core: joining classes and keeping join codes."""

from django.db import IntegrityError, transaction

from edu.models import SchoolClass, User, new_join_code


class AlreadyInClass(Exception):
    """A student changes class through their teacher, never by typing another class's code."""


def student_join_class(*, user: User, school_class: SchoolClass) -> User:
    """Make the user a student of the class; joining the same class again changes nothing."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.school_class_id and locked.school_class_id != school_class.pk:
            raise AlreadyInClass
        locked.is_student = True
        locked.school_class = school_class
        locked.save(update_fields=["is_student", "school_class"])
    user.is_student, user.school_class = True, school_class
    return user


def class_join_code_regenerate(*, school_class: SchoolClass) -> SchoolClass:
    """A new code (the old one stops working at once); a collision with another class simply retries."""
    for _ in range(10):
        school_class.join_code = new_join_code()
        try:
            with transaction.atomic():
                school_class.save(update_fields=["join_code"])
            return school_class
        except IntegrityError:
            continue
    raise RuntimeError("Could not find a free join code.")


def class_join_toggle(*, school_class: SchoolClass, enabled: bool) -> SchoolClass:
    school_class.join_enabled = enabled
    school_class.save(update_fields=["join_enabled"])
    return school_class
