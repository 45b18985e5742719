"""Template filters for texts in the reader's language (loaded as a builtin)."""

from django import template

from accounts.texts import english_active, english_punctuation, join_list, localized_name

register = template.Library()


@register.filter
def localized(obj) -> str:
    """A stored row's name in the active language: ``{{ measure|localized }}``."""
    return localized_name(obj)


@register.filter
def joined(items) -> str:
    """Items listed in the active language: ``{{ names|joined }}`` ("、" or ", ")."""
    return join_list(items)


@register.simple_tag
def list_sep() -> str:
    """The separator between listed items: "、" in Chinese, ", " in English."""
    return join_list(["", ""])


@register.simple_tag
def punct(mark: str) -> str:
    """A Chinese punctuation mark, or its English counterpart in English: ``{% punct "：" %}``."""
    return english_punctuation(mark) if english_active() else mark
