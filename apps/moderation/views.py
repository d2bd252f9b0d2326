from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods

from apps.moderation import services
from apps.moderation.models import ReportReason
from apps.photos import selectors
from apps.photos.models import Photo
from apps.photos.pages import share_query, share_token_of
from apps.social.models import Comment
from apps.social.selectors import comment_get_for_viewer
from photosite.http import AuthenticatedHttpRequest


class ReportForm(forms.Form):
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=ReportReason.choices, widget=forms.RadioSelect)
    details = forms.CharField(
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=gettext_lazy("Details"),
        help_text=gettext_lazy("Anything that helps the moderators decide."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def report_photo(request: AuthenticatedHttpRequest, photo_id: int) -> HttpResponse:
    photo = selectors.photo_get_for_viewer(photo_id=photo_id, viewer=request.user, share_token=share_token_of(request))
    return _report_page(request, photo=photo, comment=None)


@login_required
@require_http_methods(["GET", "POST"])
def report_comment(request: AuthenticatedHttpRequest, comment_id: int) -> HttpResponse:
    comment = comment_get_for_viewer(comment_id=comment_id, viewer=request.user, share_token=share_token_of(request))
    return _report_page(request, photo=comment.photo, comment=comment)


def _report_page(request: AuthenticatedHttpRequest, *, photo: Photo, comment: Comment | None) -> HttpResponse:
    """The report form for a photo, or for a comment on it; the caller has checked the viewer may see it."""
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.report_create(reporter=request.user, photo=photo, comment=comment, **form.cleaned_data)
        except services.ReportRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            thanks = (
                gettext("Thank you. The moderators will look at this comment.")
                if comment is not None
                else gettext("Thank you. The moderators will look at this photo.")
            )
            messages.success(request, thanks)
            return redirect(reverse("photo_detail", args=[photo.pk]) + share_query(request))
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "photo": photo, "comment": comment, "share_query": share_query(request)}
    return render(request, "moderation/report.html", context, status=status)
