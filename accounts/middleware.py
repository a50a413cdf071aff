"""Who is signed in, without a query per request: `request.user` from the shared cache."""

import copy

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.core.cache import cache
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from accounts.models import SIGNED_IN_USER_TTL, signed_in_user_cache_key


def signed_in_user(request):
    """The session's user. The cache holds each account with the session auth hash it was
    verified against (Django's get_user, which also checks is_active); an entry serves a
    session that carries that very hash, so a password change (a new hash) or any save of
    the account (accounts/signals.py drops the entry) takes effect on the next request.
    Redis down: a cache miss, Django's own lookup. The cached copy leaves the password hash
    out of Redis: the field is deferred, so a password check loads it (one query)."""
    session = request.session
    user_id = session.get(auth.SESSION_KEY)
    session_hash = session.get(auth.HASH_SESSION_KEY)
    if (
        user_id is None
        or not session_hash
        or session.get(auth.BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS
    ):
        return auth.get_user(request)
    key = signed_in_user_cache_key(user_id)
    cached = cache.get(key)
    if cached is not None and constant_time_compare(cached[0], session_hash):
        return cached[1]
    user = auth.get_user(request)
    if user.is_authenticated and session.get(auth.HASH_SESSION_KEY) == session_hash:
        without_hash = copy.copy(user)
        del without_hash.password
        cache.set(key, (session_hash, without_hash), SIGNED_IN_USER_TTL)
    return user


class CachedAuthenticationMiddleware(AuthenticationMiddleware):
    """Django's AuthenticationMiddleware (the admin checks for it) with `request.user` from
    `signed_in_user`."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: signed_in_user(request))
