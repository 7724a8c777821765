"""Signed-in sessions for the benchmarks' clients, made straight in the session store: signing in through the
login page would hash a password (about 0.5 s) per client. Call it after django.setup()."""


def signed_in_session(user) -> str:
    """A new session of `user`, saved; its key, for the client's session cookie."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return session.session_key
