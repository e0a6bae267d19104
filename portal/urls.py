from django.contrib.auth import views as auth_views
from django.urls import path

from portal import views

app_name = "portal"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.ProjectListView.as_view(), name="home"),
    path("switch-organization/", views.switch_organization, name="switch-organization"),
]
