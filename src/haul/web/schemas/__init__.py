"""Request and response bodies of the REST API, one module per resource (the OpenAPI
schema is generated from these)."""
