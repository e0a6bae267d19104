"""OpenAPI description of the Cytomine client session (drf-spectacular extension)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class CytomineSessionAuthScheme(OpenApiAuthenticationExtension):
    target_class = "compat.authentication.CytomineSessionAuthentication"
    name = "CytomineSessionAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": (
                "Cytomine client session: the cookie a key-pair-authenticated request to a Cytomine route "
                "receives; it authenticates plain GET requests of the same client as that key pair."
            ),
        }
