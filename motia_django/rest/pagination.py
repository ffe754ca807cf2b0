"""Pages of the API's database lists: ``?page=`` and ``?page_size=``."""

from __future__ import annotations

from rest_framework.pagination import PageNumberPagination
from rest_framework.settings import api_settings

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "Pagination"]

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


class Pagination(PageNumberPagination):
    """``REST_FRAMEWORK["PAGE_SIZE"]`` rows a page (50 without it), at most 500 on request."""

    page_size = api_settings.PAGE_SIZE or DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
