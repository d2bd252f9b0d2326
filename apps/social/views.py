"""Likes, comments and follows. Each answers JSON to the page's script and redirects without it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext, pgettext
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.models import User
from apps.photos.pages import share_query, share_token_of
from apps.photos.selectors import photo_get_for_viewer
from apps.social import selectors, services
from photosite.http import AuthenticatedHttpRequest, redirect_back, wants_json
from photosite.ratelimit import write_limited


def _flag(request: HttpRequest, name: str) -> bool | None:
    value = request.POST.get(name)
    return {"1": True, "true": True, "0": False, "false": False}.get(value or "")


def _refuse(request: HttpRequest, message: str, default: str) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"error": message}, status=400)
    messages.error(request, message)
    return redirect_back(request, default)


@login_required
@require_POST
@write_limited("like")
def photo_like(request: AuthenticatedHttpRequest, photo_id: int) -> HttpResponse:
    photo = photo_get_for_viewer(photo_id=photo_id, viewer=request.user, share_token=share_token_of(request))
    photo_url = reverse("photo_detail", args=[photo.pk]) + share_query(request)
    liked = _flag(request, "liked")
    if liked is None:
        return _refuse(request, gettext("Say liked=1 to like or liked=0 to unlike."), photo_url)
    count = services.like_set(user=request.user, photo=photo, liked=liked)
    if wants_json(request):
        return JsonResponse({"liked": liked, "count": count})
    return redirect_back(request, photo_url)


@login_required
@require_POST
@write_limited("comment")
def comment_create(request: AuthenticatedHttpRequest, photo_id: int) -> HttpResponse:
    photo = photo_get_for_viewer(photo_id=photo_id, viewer=request.user, share_token=share_token_of(request))
    photo_url = reverse("photo_detail", args=[photo.pk]) + share_query(request)
    try:
        comment = services.comment_create(author=request.user, photo=photo, body=request.POST.get("body", ""))
    except services.SocialRefused as refusal:
        return _refuse(request, str(refusal), f"{photo_url}#comments")
    return redirect(f"{photo_url}#comment-{comment.pk}")


@login_required
@require_POST
def comment_delete(request: AuthenticatedHttpRequest, comment_id: int) -> HttpResponse:
    comment = selectors.comment_get_for_viewer(
        comment_id=comment_id, viewer=request.user, share_token=share_token_of(request)
    )
    photo_url = reverse("photo_detail", args=[comment.photo_id]) + share_query(request)
    if not services.comment_may_delete(comment=comment, user=request.user):
        if wants_json(request):
            return JsonResponse(
                {"error": gettext("Only its author or the photo's owner can delete a comment.")}, status=403
            )
        return render(
            request,
            "error.html",
            {
                "title": gettext("Not yours to delete"),
                "message": gettext("Only its author or the photo's owner can delete a comment."),
            },
            status=403,
        )
    services.comment_delete(comment_id=comment.pk)
    messages.success(request, gettext("Comment deleted."))
    return redirect(f"{photo_url}#comments")


@login_required
@require_POST
@write_limited("follow")
def follow(request: AuthenticatedHttpRequest, username: str) -> HttpResponse:
    person = get_object_or_404(User, username=username, is_active=True)
    profile_url = reverse("profile", args=[person.username])
    following = _flag(request, "following")
    if following is None:
        return _refuse(request, gettext("Say following=1 to follow or following=0 to unfollow."), profile_url)
    try:
        count = services.follow_set(follower=request.user, followee=person, following=following)
    except services.SocialRefused as refusal:
        return _refuse(request, str(refusal), profile_url)
    if wants_json(request):
        return JsonResponse({"following": following, "count": count})
    return redirect_back(request, profile_url)


@require_GET
def followers(request: HttpRequest, username: str) -> HttpResponse:
    person = get_object_or_404(User, username=username, is_active=True)
    people = selectors.people_following(person=person)
    return render(request, "social/people.html", {"person": person, "people": people, "title": gettext("Followers")})


@require_GET
def following(request: HttpRequest, username: str) -> HttpResponse:
    person = get_object_or_404(User, username=username, is_active=True)
    people = selectors.people_followed_by(person=person)
    return render(
        request,
        "social/people.html",
        {"person": person, "people": people, "title": pgettext("people one follows", "Following")},
    )
