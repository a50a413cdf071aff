"""What a sign-in records: the device, for the signed-in devices page; and every change to
an account, its groups or their permissions drops its signed-in cache entry."""

from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from accounts.models import Address, User
from accounts.services import signed_in_user_forget
from webapp.clientip import client_ip, masked
from webapp.sessions import device_record


@receiver(user_logged_in)
def note_the_device(sender, request, user, **kwargs):
    if request is not None:
        device_record(
            request.session,
            user_agent=request.headers.get("User-Agent", ""),
            place=masked(client_ip(request)),
        )


@receiver([post_save, post_delete], sender=User)
def forget_changed_user(sender, instance, **kwargs):
    signed_in_user_forget([instance.pk])


@receiver(post_delete, sender=Address)
def forget_user_of_deleted_address(sender, instance, **kwargs):
    """Deleting the default address empties the account's default in an UPDATE of its own
    (on_delete=SET_NULL), which sends no post_save."""
    signed_in_user_forget([instance.user_id])


@receiver(m2m_changed, sender=User.groups.through)
@receiver(m2m_changed, sender=User.user_permissions.through)
def forget_regrouped_users(sender, instance, action, reverse, pk_set, **kwargs):
    if not reverse:  # a user's own groups or permissions changed
        if action.startswith("post_"):
            signed_in_user_forget([instance.pk])
    elif action in ("post_add", "post_remove"):  # users added to or taken from a group
        signed_in_user_forget(pk_set)
    elif action == "pre_clear":  # a group emptied: its users, while it still has them
        signed_in_user_forget(list(instance.user_set.values_list("pk", flat=True)))


@receiver(m2m_changed, sender=Group.permissions.through)
def forget_members_of_regranted_group(sender, instance, action, reverse, pk_set, **kwargs):
    if action.startswith("post_"):
        groups = [instance.pk] if not reverse else list(pk_set or [])
        signed_in_user_forget(User.objects.filter(groups__in=groups).values_list("pk", flat=True))


@receiver(pre_delete, sender=Group)
def forget_members_of_deleted_group(sender, instance, **kwargs):
    signed_in_user_forget(list(instance.user_set.values_list("pk", flat=True)))
