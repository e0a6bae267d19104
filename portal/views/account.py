"""The signed-in person's own pages: sign in, organization switch, profile, credentials."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.models import ApiToken, KeyPair
from accounts.services import change_password, create_api_token, create_key_pair, revoke_credential
from organizations.context import SESSION_KEY
from organizations.models import Membership
from organizations.services import switch_organization as switch_service
from portal.forms import CredentialForm, PasswordChangeForm
from portal.views.base import ObjectMixin, TenantView, add_service_errors, confirmation_page, is_confirmed


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@require_POST
def switch_organization(request):
    if not request.user.is_authenticated:
        return HttpResponseRedirect("/login/")
    membership = (
        Membership.objects.select_related("organization")
        .filter(user=request.user, organization__slug=request.POST.get("organization", ""))
        .first()
    )
    if membership is None:
        raise Http404("No such organization among yours.")
    switch_service(user=request.user, organization=membership.organization)
    request.session[SESSION_KEY] = membership.organization_id
    messages.info(request, f"Now working in {membership.organization.name} as {membership.get_role_display()}.")
    return HttpResponseRedirect("/")


class ProfileView(TenantView):
    """Password and the API credentials this person holds in the current organization."""

    required_permissions = {"get": None}

    def credentials(self, model):
        return model.objects.filter(user=self.request.user, organization=self.organization).order_by("-created_at")

    def page(self, status=200, **extra):
        extra.setdefault("password_form", PasswordChangeForm())
        extra.setdefault("token_form", CredentialForm(auto_id="token-%s", initial={"expires_in_days": 365}))
        extra.setdefault("key_form", CredentialForm(auto_id="key-%s", initial={"expires_in_days": 365}))
        response = self.render(
            "portal/profile.html",
            status=status,
            tokens=self.credentials(ApiToken),
            key_pairs=self.credentials(KeyPair),
            **extra,
        )
        response["Cache-Control"] = "no-store"  # a secret may be on this page
        return response

    def get(self, request):
        return self.page()


class PasswordChangeView(ProfileView):
    required_permissions = {"get": None, "post": None}

    def post(self, request):
        form = PasswordChangeForm(request.POST)
        if form.is_valid():
            try:
                change_password(
                    user=request.user,
                    old_password=form.cleaned_data["old_password"],
                    new_password=form.cleaned_data["new_password1"],
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    add_service_errors(form, exc)
                else:  # Django's password validators
                    for message in exc.messages:
                        form.add_error("new_password1", message)
            else:
                update_session_auth_hash(request, request.user)
                messages.success(request, "Your password has been changed.")
                return redirect("portal:profile")
        return self.page(status=400, password_form=form)


class CredentialCreateView(ProfileView):
    """Create a token or key pair and show its secret once, in this response only."""

    required_permissions = {"get": None, "post": None}
    kind = "token"

    def post(self, request):
        form = CredentialForm(request.POST, auto_id=f"{self.kind}-%s")
        form_key = "token_form" if self.kind == "token" else "key_form"
        if not form.is_valid():
            return self.page(status=400, **{form_key: form})
        create = create_api_token if self.kind == "token" else create_key_pair
        credential, secret = create(
            user=request.user,
            organization=self.organization,
            name=form.cleaned_data["name"],
            expires_in_days=form.cleaned_data["expires_in_days"],
        )
        return self.page(new_credential=credential, new_secret=secret, new_kind=self.kind)


class CredentialRevokeView(ObjectMixin, TenantView):
    required_permissions = {"get": None, "post": None}

    def object_queryset(self):
        return self.model.objects.filter(user=self.request.user, organization=self.organization)

    def post(self, request, pk):
        credential = self.object
        what = "API token" if self.model is ApiToken else "key pair"
        if not is_confirmed(request):
            return confirmation_page(
                self,
                title=f"Revoke the {what} “{credential.name}”?",
                lost=[f"every program using “{credential.name}” loses access at once"],
                button=f"Revoke {what}",
                cancel_url="/profile/",
            )
        revoke_credential(actor=request.user, credential=credential)
        messages.success(request, f"Revoked the {what} “{credential.name}”.")
        return redirect("portal:profile")


class TokenRevokeView(CredentialRevokeView):
    model = ApiToken


class KeyPairRevokeView(CredentialRevokeView):
    model = KeyPair
