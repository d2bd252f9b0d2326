"""The API views, one module per resource; apps/api/urls.py maps them under /api/v1/."""
