"""OpenAPI descriptions of our authentication schemes (drf-spectacular extensions)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TokenAuthScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.TokenAuthentication"
    name = "TokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Personal API token: `Authorization: Token <token>` (or `Bearer <token>`).",
        }


class KeyPairAuthScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.KeyPairAuthentication"
    name = "KeyPairAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Auth-Token",
            "description": (
                "Key pair: `X-Auth-Token: <public>` with `X-Auth-Secret: <private>`, or a Cytomine "
                "signed request `Authorization: CYTOMINE <public>:<base64 HMAC-SHA1>` with a `Date` header."
            ),
        }


class SessionAuthScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.SessionAuthentication"
    name = "SessionAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "Portal session; unsafe methods need the X-CSRFToken header.",
        }
