from django.contrib.auth import views as auth_views
from django.urls import path

from portal import views

app_name = "portal"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("switch-organization/", views.switch_organization, name="switch-organization"),
    # Projects
    path("", views.ProjectListView.as_view(), name="home"),
    path("projects/new/", views.ProjectCreateView.as_view(), name="project-create"),
    path("projects/<int:pk>/", views.ProjectDetailView.as_view(), name="project"),
    path("projects/<int:pk>/settings/", views.ProjectSettingsView.as_view(), name="project-settings"),
    path("projects/<int:pk>/rename/", views.ProjectRenameView.as_view(), name="project-rename"),
    path("projects/<int:pk>/copy/", views.ProjectCopyView.as_view(), name="project-copy"),
    path("projects/<int:pk>/delete/", views.ProjectDeleteView.as_view(), name="project-delete"),
    # Project work: tasks, batches, claims, review queue, upload, exports
    path("projects/<int:project_pk>/tasks/", views.TaskListView.as_view(), name="tasks"),
    path("projects/<int:project_pk>/tasks/bulk/", views.TaskBulkView.as_view(), name="tasks-bulk"),
    path("projects/<int:project_pk>/batches/", views.BatchCreateView.as_view(), name="batch-create"),
    path("projects/<int:project_pk>/next-task/", views.NextTaskView.as_view(), name="next-task"),
    path("projects/<int:project_pk>/review/", views.ReviewQueueView.as_view(), name="review-queue"),
    path("projects/<int:project_pk>/review/next/", views.NextReviewView.as_view(), name="next-review"),
    path("projects/<int:project_pk>/upload/", views.UploadView.as_view(), name="upload"),
    path("projects/<int:project_pk>/imports/<int:pk>/resume/", views.ImportResumeView.as_view(), name="import-resume"),
    path("projects/<int:project_pk>/exports/", views.ExportView.as_view(), name="exports"),
    # The annotation workspace (review happens in it too)
    path("tasks/<int:task_pk>/", views.WorkspaceView.as_view(), name="workspace"),
    # Labels of a project
    path("projects/<int:project_pk>/labels/", views.LabelListView.as_view(), name="labels"),
    path("projects/<int:project_pk>/labels/reorder/", views.LabelReorderView.as_view(), name="labels-reorder"),
    path("projects/<int:project_pk>/labels/apply-template/", views.ApplyTemplateView.as_view(), name="labels-apply"),
    path("projects/<int:project_pk>/labels/save-template/", views.SaveAsTemplateView.as_view(), name="labels-save"),
    path("projects/<int:project_pk>/labels/<int:pk>/", views.LabelEditView.as_view(), name="label"),
    path("projects/<int:project_pk>/labels/<int:pk>/move/", views.LabelMoveView.as_view(), name="label-move"),
    path("projects/<int:project_pk>/labels/<int:pk>/delete/", views.LabelDeleteView.as_view(), name="label-delete"),
    # Template library
    path("templates/", views.TemplateListView.as_view(), name="templates"),
    path("templates/new/", views.TemplateCreateView.as_view(), name="template-create"),
    path("templates/import/", views.TemplateImportView.as_view(), name="template-import"),
    path("templates/<int:pk>/", views.TemplateDetailView.as_view(), name="template"),
    path("templates/<int:pk>/copy/", views.TemplateCopyView.as_view(), name="template-copy"),
    path("templates/<int:pk>/delete/", views.TemplateDeleteView.as_view(), name="template-delete"),
    path("templates/<int:pk>/export.json", views.TemplateExportView.as_view(), name="template-export"),
    # Models and inference (managers)
    path("models/", views.ModelsView.as_view(), name="models"),
    # Organization, members, audit
    path("organization/", views.OrganizationView.as_view(), name="organization"),
    path("organization/demo-reset/", views.DemoResetView.as_view(), name="demo-reset"),
    path("members/", views.MemberListView.as_view(), name="members"),
    path("members/<int:pk>/role/", views.MemberRoleView.as_view(), name="member-role"),
    path("members/<int:pk>/remove/", views.MemberRemoveView.as_view(), name="member-remove"),
    path("audit/", views.AuditLogView.as_view(), name="audit"),
    # The signed-in person
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("profile/password/", views.PasswordChangeView.as_view(), name="password"),
    path("profile/tokens/", views.CredentialCreateView.as_view(kind="token"), name="token-create"),
    path("profile/tokens/<int:pk>/revoke/", views.TokenRevokeView.as_view(), name="token-revoke"),
    path("profile/keys/", views.CredentialCreateView.as_view(kind="key"), name="key-create"),
    path("profile/keys/<int:pk>/revoke/", views.KeyPairRevokeView.as_view(), name="key-revoke"),
]
