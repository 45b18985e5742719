"""``{% page_links page as links %}``: the page numbers a list shows (first, last and the pages
around the current one, ``None`` where numbers are left out)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag
def page_links(page, on_each_side: int = 1, on_ends: int = 1) -> list[int | None]:
    paginator = page.paginator
    links = paginator.get_elided_page_range(page.number, on_each_side=on_each_side, on_ends=on_ends)
    return [n if isinstance(n, int) else None for n in links]
