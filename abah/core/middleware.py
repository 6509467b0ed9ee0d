"""Request middleware of the core app."""


class IndonesianByDefaultMiddleware:
    """The interface is Indonesian unless the user picks English with the ID/EN switch (a cookie).

    Django's LocaleMiddleware would otherwise follow the browser's Accept-Language, and a bureau computer set
    up in English would show the English interface to staff who never asked for it. Placed before
    LocaleMiddleware, this hides that header from it; the language cookie still decides.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
