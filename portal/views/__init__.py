"""Server-rendered portal pages. Every page reaches data through TenantView's scoping."""

from portal.views.account import (
    CredentialCreateView,
    KeyPairRevokeView,
    LoginView,
    PasswordChangeView,
    ProfileView,
    TokenRevokeView,
    switch_organization,
)
from portal.views.base import TenantView
from portal.views.labels import (
    ApplyTemplateView,
    LabelDeleteView,
    LabelEditView,
    LabelListView,
    LabelMoveView,
    LabelReorderView,
    SaveAsTemplateView,
)
from portal.views.library import (
    TemplateCopyView,
    TemplateCreateView,
    TemplateDeleteView,
    TemplateDetailView,
    TemplateExportView,
    TemplateImportView,
    TemplateListView,
)
from portal.views.members import AuditLogView, MemberListView, MemberRemoveView, MemberRoleView
from portal.views.organization import DemoResetView, OrganizationView
from portal.views.pipelines import ExportView, ModelsView, UploadView
from portal.views.projects import (
    ProjectCopyView,
    ProjectCreateView,
    ProjectDeleteView,
    ProjectDetailView,
    ProjectListView,
    ProjectRenameView,
    ProjectSettingsView,
)
from portal.views.work import (
    BatchCreateView,
    NextReviewView,
    NextTaskView,
    ReviewQueueView,
    TaskBulkView,
    TaskListView,
    WorkspaceView,
)

__all__ = [
    "ApplyTemplateView",
    "AuditLogView",
    "BatchCreateView",
    "CredentialCreateView",
    "DemoResetView",
    "ExportView",
    "KeyPairRevokeView",
    "LabelDeleteView",
    "LabelEditView",
    "LabelListView",
    "LabelMoveView",
    "LabelReorderView",
    "LoginView",
    "MemberListView",
    "MemberRemoveView",
    "MemberRoleView",
    "ModelsView",
    "NextReviewView",
    "NextTaskView",
    "OrganizationView",
    "PasswordChangeView",
    "ProfileView",
    "ProjectCopyView",
    "ProjectCreateView",
    "ProjectDeleteView",
    "ProjectDetailView",
    "ProjectListView",
    "ProjectRenameView",
    "ProjectSettingsView",
    "ReviewQueueView",
    "SaveAsTemplateView",
    "TaskBulkView",
    "TaskListView",
    "TemplateCopyView",
    "TemplateCreateView",
    "TemplateDeleteView",
    "TemplateDetailView",
    "TemplateExportView",
    "TemplateImportView",
    "TemplateListView",
    "TenantView",
    "TokenRevokeView",
    "UploadView",
    "WorkspaceView",
    "switch_organization",
]
