"""Reads for people."""

from __future__ import annotations

from django.db.models import Q

from apps.accounts.models import User


def people_matching(*, query: str, limit: int = 6) -> list[User]:
    """People whose user name or display name contains the query, most followed first."""
    words = query.split()[:4]
    if not words:
        return []
    people = User.objects.filter(is_active=True)
    for word in words:
        people = people.filter(Q(username__icontains=word) | Q(display_name__icontains=word))
    return list(people.order_by("-follower_count", "username")[:limit])
